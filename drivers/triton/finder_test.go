package triton_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/triton"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// TestFindCreated: CreateImage tags the image imagegw_job=<token> and
// FindCreated finds it by that tag among the account's images only: an
// older image of another account with the same tag does not count. (This
// CloudAPI front does not show bob's private image to alice at all; the
// driver also asks for owner=the account, since upstream CloudAPI lists
// other accounts' public images too.)
func TestFindCreated(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	token := uuid.NewString()

	bobKey := newKey(t, t.TempDir(), "ed25519")
	s.cloud.addAccount(t, "bob", bobKey)
	cfg, err := gateway.ParseConfig(strings.NewReader(fmt.Sprintf("providers:\n  - {name: tr-bob, driver: triton, url: %q, keys: [{account: bob, name: bobs, key_file: %q}]}\n",
		s.cloud.urls["mock"], bobKey.file)))
	if err != nil {
		t.Fatal(err)
	}
	bp, err := triton.Open(ctx, cfg.Providers[0], drivers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bp.Close() })
	bob, err := bp.Connect(ctx, model.Credentials{User: "bob", Password: "bobs"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.CreateImage(ctx, model.CreateImage{InstanceID: mockInstance("inst1"), Name: "bobs", Token: token}); err != nil {
		t.Fatalf("bob's create: %v", err)
	}

	alice, err := s.open(t, "mock").Connect(ctx, model.Credentials{User: "alice", Password: s.good})
	if err != nil {
		t.Fatal(err)
	}
	f := alice.(drivers.CreateFinder)
	if got, err := f.FindCreated(ctx, token); !model.IsNotFound(err) {
		t.Fatalf("alice's FindCreated before her create = %+v, %v; want NotFound (the tagged image is bob's)", got, err)
	}
	img, err := alice.CreateImage(ctx, model.CreateImage{InstanceID: mockInstance("inst1"), Name: "alices", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.FindCreated(ctx, token)
	if err != nil || got.ID != img.ID || got.Name != "alices" {
		t.Fatalf("FindCreated = %+v, %v; want alice's image %s", got, err, img.ID)
	}
	if got.Tags[triton.TokenTag] != token {
		t.Errorf("image tags %v, want %s=%s", got.Tags, triton.TokenTag, token)
	}
}
