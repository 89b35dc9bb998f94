package gateway

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

func openTestStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTestGateway(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	gw, err := New(context.Background(), cfg, Options{Store: openTestStore(t), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	return gw
}

// TestAnonymousNeedsTheProvidersConsent: a request without credentials
// acts with the provider's server-side credentials only where the provider
// says anonymous: true; the mock, with none to lend, is anonymous unless
// it says otherwise.
func TestAnonymousNeedsTheProvidersConsent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings string
		wantOK   bool
	}{
		{"driver default (counting: not anonymous)", "", false},
		{"anonymous: false", ", anonymous: false", false},
		{"anonymous: true", ", anonymous: true", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 1, tc.settings, "")
			_, err := h.gw.Open(context.Background(), h.gw.Defaults(), model.Credentials{})
			if tc.wantOK != (err == nil) {
				t.Fatalf("anonymous Open: err %v, want ok=%v", err, tc.wantOK)
			}
			if err != nil && (model.CodeOf(err) != model.Unauthenticated || model.MessageOf(err) != ErrCredentialsRequired) {
				t.Errorf("anonymous Open: %v (%v), want Unauthenticated %q", err, model.CodeOf(err), ErrCredentialsRequired)
			}
			if _, err := h.gw.Open(context.Background(), h.gw.Defaults(), model.Credentials{User: "alice", Password: "pw-alice"}); err != nil {
				t.Errorf("Open with credentials: %v", err)
			}
			if got := h.gw.Anonymous(h.gw.Defaults().Provider); got != tc.wantOK {
				t.Errorf("Anonymous() = %v, want %v", got, tc.wantOK)
			}
			if _, err := h.gw.DriverCapabilities(context.Background(), h.gw.Defaults()); err != nil {
				t.Errorf("DriverCapabilities: %v; want the driver's capabilities without credentials", err)
			}
		})
	}
	t.Run("mock default", func(t *testing.T) {
		cfg, err := ParseConfig(strings.NewReader("providers:\n  - {name: m2, driver: mock}\n  - {name: m3, driver: mock, anonymous: false}\n"))
		if err != nil {
			t.Fatal(err)
		}
		gw := newTestGateway(t, cfg)
		if !gw.Anonymous("mock") || !gw.Anonymous("m2") || gw.Anonymous("m3") {
			t.Errorf("Anonymous mock=%v m2=%v m3=%v, want true true false", gw.Anonymous("mock"), gw.Anonymous("m2"), gw.Anonymous("m3"))
		}
	})
	t.Run("not a boolean", func(t *testing.T) {
		cfg, err := ParseConfig(strings.NewReader("providers:\n  - {name: m4, driver: mock, anonymous: sometimes}\n"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = New(context.Background(), cfg, Options{Store: openTestStore(t), DataDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "anonymous") {
			t.Errorf("New: %v, want an error naming anonymous", err)
		}
	})
}
