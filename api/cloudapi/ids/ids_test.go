package ids

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/imagegw/imagegw/store"
)

// TestSpecVectors checks the mock vectors of the CloudAPI spec, decision 7.
func TestSpecVectors(t *testing.T) {
	for _, tc := range []struct{ kind, native, want string }{
		{Images, "img1", "1d7d3268-b4b6-5b27-af09-69ee5896f88d"},
		{Images, "img2", "3dfec909-cc9b-53e3-becf-a02d1539d444"},
		{Images, "img3", "f36efaeb-a523-5e10-88e6-0263970c6030"},
		{Instances, "inst0", "198453e1-18f2-5b62-968c-c50932d07db3"},
		{Instances, "inst1", "c9e8aefe-3fa6-5f5f-b513-824b401ed2f4"},
		{Instances, "inst2", "0c9053d4-38a9-52c2-9167-5f9bef7a5345"},
		{Instances, "inst3", "e0eeebfc-0082-565e-94e5-9ada1695ed31"},
		{Owners, "fedoraproject", "9617ce81-af52-5ae4-93e2-5132bb6969a7"},
		{Packages, "m1-large", "98843242-b641-5c67-bdcf-73e998e5d0f5"},
		// native UUIDs pass through, lower-cased
		{Images, "2B683A82-A066-11E3-97AB-2FAA44701C5A", "2b683a82-a066-11e3-97ab-2faa44701c5a"},
	} {
		if got := UUID("mock", "mock", tc.kind, tc.native); got != tc.want {
			t.Errorf("UUID(mock, mock, %s, %s) = %s, want %s", tc.kind, tc.native, got, tc.want)
		}
	}
	if UUID("mock", "test1", Images, "img1") == UUID("mock", "mock", Images, "img1") {
		t.Error("the provider is not part of the name")
	}
}

func TestIsUUID(t *testing.T) {
	for s, want := range map[string]bool{
		"1d7d3268-b4b6-5b27-af09-69ee5896f88d":      true,
		"1D7D3268-B4B6-5B27-AF09-69EE5896F88D":      true,
		"img1":                                      false,
		"1d7d3268b4b65b27af0969ee5896f88d":          false,
		"urn:uuid:1d7d3268-b4b6-5b27-af09-69ee5896": false,
		"": false,
	} {
		if IsUUID(s) != want {
			t.Errorf("IsUUID(%q) = %v", s, !want)
		}
	}
}

func TestMapperPersists(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMapper(st)
	got, err := m.Map(ctx, "ec2", "us-east-1", Images, "ami-1", "ami-2", "2b683a82-a066-11e3-97ab-2faa44701c5a")
	if err != nil {
		t.Fatal(err)
	}
	if got[2] != "2b683a82-a066-11e3-97ab-2faa44701c5a" || got[0] != UUID("ec2", "us-east-1", Images, "ami-1") {
		t.Fatalf("Map = %v", got)
	}
	again, err := m.Map(ctx, "ec2", "us-east-1", Images, "ami-2", "ami-1", "ami-3")
	if err != nil || again[0] != got[1] || again[1] != got[0] || again[2] != UUID("ec2", "us-east-1", Images, "ami-3") {
		t.Fatalf("second Map = %v, %v (first %v)", again, err, got)
	}
	st.Close()

	// A fresh mapper over the reopened store resolves what was shown.
	st, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m = NewMapper(st)
	for i, want := range []string{"ami-1", "ami-2"} {
		n, ok, err := m.Resolve(ctx, "ec2", "us-east-1", Images, got[i])
		if err != nil || !ok || n != want {
			t.Errorf("Resolve(%s) = %q, %v, %v; want %s", got[i], n, ok, err, want)
		}
	}
	if _, ok, err := m.Resolve(ctx, "ec2", "us-west-2", Images, got[0]); ok || err != nil {
		t.Errorf("a mapping leaked to another provider: %v, %v", ok, err)
	}
	if _, ok, _ := m.Resolve(ctx, "ec2", "us-east-1", Images, got[2]); ok {
		t.Error("native UUIDs should not be recorded")
	}
}
