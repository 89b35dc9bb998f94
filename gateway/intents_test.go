package gateway_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// tokenCloud is a test cloud whose images keep their create's token, as EC2
// keeps the imagegw:job tag: it outlives gateway restarts. How CreateImage
// ends is up to the test (mode).
type tokenCloud struct {
	mu     sync.Mutex
	images map[string]model.Image // by token
	made   chan string            // receives each new image's id
	mode   string                 // "lost answer", "hang", "refuse", "ok"
}

var cloud = &tokenCloud{images: map[string]model.Image{}, made: make(chan string, 10)}

func (c *tokenCloud) Connect(context.Context, model.Credentials) (drivers.Driver, error) {
	return c, nil
}
func (c *tokenCloud) Close() error { return nil }
func (c *tokenCloud) ListImages(context.Context, model.ImageQuery) ([]model.Image, error) {
	return nil, nil
}
func (c *tokenCloud) GetImage(_ context.Context, id string) (model.Image, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, img := range c.images {
		if img.ID == id {
			return img, nil
		}
	}
	return model.Image{}, model.Errorf(model.NotFound, "image %s not found", id)
}
func (c *tokenCloud) CreateImage(ctx context.Context, req model.CreateImage) (model.Image, error) {
	c.mu.Lock()
	mode := c.mode
	if mode == "refuse" {
		c.mu.Unlock()
		return model.Image{}, model.Errorf(model.InvalidArgument, "no such instance")
	}
	img := model.Image{ID: fmt.Sprintf("img-%d", len(c.images)+1), State: model.ImageAvailable}
	if req.Token == "" {
		c.mu.Unlock()
		return model.Image{}, model.Errorf(model.Internal, "the gateway gave no token")
	}
	if mode == "made nothing" { // the connection broke before the cloud acted
		c.mu.Unlock()
		return model.Image{}, model.Errorf(model.Unavailable, "connection reset by peer")
	}
	c.images[req.Token] = img
	c.mu.Unlock()
	c.made <- img.ID
	switch mode {
	case "lost answer":
		return model.Image{}, model.Errorf(model.Unavailable, "connection reset by peer")
	case "hang":
		<-ctx.Done()
		return model.Image{}, model.Wrap(model.Canceled, ctx.Err(), "canceled")
	}
	return img, nil
}
func (c *tokenCloud) FindCreated(_ context.Context, token string) (model.Image, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if img, ok := c.images[token]; ok {
		return img, nil
	}
	return model.Image{}, model.Errorf(model.NotFound, "no image has token %s", token)
}
func (c *tokenCloud) DeleteImage(context.Context, string) error { return nil }
func (c *tokenCloud) ListHardwareProfiles(context.Context) ([]model.HardwareProfile, error) {
	return nil, nil
}

func init() {
	drivers.Register(drivers.Registration{ID: "tokencloud", Name: "Token cloud",
		Open: func(context.Context, model.ProviderConfig, drivers.Env) (drivers.Provider, error) {
			return cloud, nil
		}})
}

// intents counts the creates the store still has in flight.
func intents(t *testing.T, st store.Store) int {
	t.Helper()
	n := 0
	err := st.View(context.Background(), func(tx store.Tx) error {
		return tx.Scan("intents", "", func(string, []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCreatesAreTracked: whatever happens to a create (the answer lost,
// the gateway stopped mid-create and restarted, the cloud refusing it),
// every image the cloud made ends with a job that follows it, and no
// intent is left behind.
func TestCreatesAreTracked(t *testing.T) {
	tests := []struct {
		mode     string
		restart  bool // stop the gateway while the cloud call is in flight
		wantMade bool
	}{
		{"ok", false, true},
		{"lost answer", false, true},
		{"hang", true, true},
		{"refuse", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			cloud.mu.Lock()
			cloud.mode = tc.mode
			cloud.mu.Unlock()
			dir := t.TempDir()
			cfg := parse(t, "job_poll_interval: 20ms\nproviders:\n  - {name: tc, driver: tokencloud}\n")
			target := gateway.Target{Driver: "tokencloud", Provider: "tc"}
			gw, st := open(t, cfg, dir)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sess, err := gw.Open(ctx, target, model.Credentials{User: "u", Password: "p"})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, _, err := sess.CreateImage(ctx, model.CreateImage{InstanceID: "i-1"}, gateway.JobMeta{})
				done <- err
			}()
			var imageID string
			if tc.wantMade {
				imageID = <-cloud.made
			}
			if tc.restart { // killed mid-create: nothing after the cloud call runs
				gw.Close()
				cancel()
				<-done
				st.Close()
				gw, st = open(t, cfg, dir)
			} else {
				<-done
			}
			defer st.Close()
			defer gw.Close()
			if !tc.wantMade {
				if n := intents(t, st); n != 0 {
					t.Errorf("%d intents left after a refused create", n)
				}
				return
			}
			wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer wcancel()
			for {
				job, err := gw.Jobs().ForImage(wctx, target, imageID)
				if err == nil {
					done, err := gw.Jobs().Wait(wctx, job.ID)
					if err != nil || done.State != model.JobSucceeded {
						t.Errorf("job of image %s: %+v, %v", imageID, done, err)
					}
					break
				}
				if wctx.Err() != nil {
					t.Fatalf("image %s has no job: %v", imageID, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			for intents(t, st) != 0 && wctx.Err() == nil {
				time.Sleep(20 * time.Millisecond)
			}
			if n := intents(t, st); n != 0 {
				t.Errorf("%d intents left", n)
			}
		})
	}
}

// TestCreateThatMadeNothing: a create whose outcome was unknown and that
// made no image leaves neither a job nor an intent once the grace for an
// image not yet visible has passed.
func TestCreateThatMadeNothing(t *testing.T) {
	cloud.mu.Lock()
	cloud.mode = "made nothing"
	cloud.mu.Unlock()
	cfg := parse(t, "job_poll_interval: 20ms\nproviders:\n  - {name: tc, driver: tokencloud}\n")
	gw, st := open(t, cfg, t.TempDir())
	defer st.Close()
	defer gw.Close()
	var shift atomic.Int64
	gateway.SetClock(gw.Jobs(), func() time.Time { return time.Now().Add(time.Duration(shift.Load())) })
	ctx := context.Background()
	sess, err := gw.Open(ctx, gateway.Target{Driver: "tokencloud", Provider: "tc"}, model.Credentials{User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sess.CreateImage(ctx, model.CreateImage{InstanceID: "i-1"}, gateway.JobMeta{}); model.CodeOf(err) != model.Unavailable {
		t.Fatalf("CreateImage: %v, want Unavailable", err)
	}
	if n := intents(t, st); n != 1 {
		t.Fatalf("%d intents after a create of unknown outcome, want 1", n)
	}
	shift.Store(int64(3 * time.Minute)) // past the grace: nothing will show up
	for deadline := time.Now().Add(10 * time.Second); intents(t, st) != 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := intents(t, st); n != 0 {
		t.Errorf("%d intents left", n)
	}
	if jobs, err := gw.Jobs().List(ctx); err != nil || len(jobs) != 0 {
		t.Errorf("jobs %+v, %v; want none for a create that made nothing", jobs, err)
	}
}
