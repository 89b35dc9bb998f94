package gateway

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// countCloud is a test cloud that counts the driver calls the catalog
// makes and fails or lags on demand: the faults and counts a real cloud
// does not show. Each user sees only the images it owns; the password
// must be "pw-" + user.
type countCloud struct {
	mu      sync.Mutex
	images  map[string]model.Image
	hidden  map[string]bool // created but not yet in lists (eventual consistency)
	zombies map[string]bool // deleted but still in lists
	next    int
	lists   atomic.Int64
	gets    atomic.Int64
	creates atomic.Int64
	failing atomic.Bool
	hold    chan struct{} // when set, lists wait for it to close
	getNF   atomic.Int64  // GetImage answers NotFound this many more times
}

var (
	cloudsMu sync.Mutex
	clouds   = map[string]*countCloud{}
)

func init() {
	drivers.Register(drivers.Registration{ID: "counting", Name: "Counting", NotFoundGrace: time.Minute,
		Open: func(_ context.Context, cfg model.ProviderConfig, _ drivers.Env) (drivers.Provider, error) {
			cloudsMu.Lock()
			defer cloudsMu.Unlock()
			c := clouds[cfg.Name]
			if c == nil {
				return nil, fmt.Errorf("no test cloud %s", cfg.Name)
			}
			return countProvider{c}, nil
		}})
}

type countProvider struct{ c *countCloud }

func (p countProvider) Connect(_ context.Context, creds model.Credentials) (drivers.Driver, error) {
	return &countDriver{c: p.c, creds: creds}, nil
}
func (countProvider) Close() error { return nil }

type countDriver struct {
	c     *countCloud
	creds model.Credentials
}

func (d *countDriver) auth() error {
	if d.creds.Password != "pw-"+d.creds.User {
		return model.Errorf(model.Unauthenticated, "bad credentials for %q", d.creds.User)
	}
	return nil
}

func (d *countDriver) ListImages(context.Context, model.ImageQuery) ([]model.Image, error) {
	d.c.lists.Add(1)
	if h := d.c.hold; h != nil {
		<-h
	}
	if err := d.auth(); err != nil {
		return nil, err
	}
	if d.c.failing.Load() {
		return nil, model.Errorf(model.Unavailable, "cloud is down")
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	var out []model.Image
	for id, img := range d.c.images {
		if img.OwnerID == d.creds.User && !d.c.hidden[id] {
			out = append(out, img)
		}
	}
	for id := range d.c.zombies {
		out = append(out, model.Image{ID: id, OwnerID: d.creds.User, State: model.ImageAvailable})
	}
	return out, nil
}

func (d *countDriver) GetImage(_ context.Context, id string) (model.Image, error) {
	d.c.gets.Add(1)
	if err := d.auth(); err != nil {
		return model.Image{}, err
	}
	if d.c.getNF.Load() > 0 {
		d.c.getNF.Add(-1)
		return model.Image{}, model.Errorf(model.NotFound, "image %s not found", id)
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	img, ok := d.c.images[id]
	if !ok || img.OwnerID != d.creds.User {
		return model.Image{}, model.Errorf(model.NotFound, "image %s not found", id)
	}
	if img.State == model.ImagePending {
		img.State = model.ImageAvailable // done at the first poll
		d.c.images[id] = img
	}
	return img, nil
}

func (d *countDriver) CreateImage(_ context.Context, req model.CreateImage) (model.Image, error) {
	d.c.creates.Add(1)
	if err := d.auth(); err != nil {
		return model.Image{}, err
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	d.c.next++
	img := model.Image{ID: fmt.Sprintf("new%d", d.c.next), Name: req.Name, OwnerID: d.creds.User, State: model.ImagePending}
	d.c.images[img.ID] = img
	d.c.hidden[img.ID] = true
	return img, nil
}

func (d *countDriver) DeleteImage(_ context.Context, id string) error {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	if _, ok := d.c.images[id]; !ok {
		return model.Errorf(model.NotFound, "image %s not found", id)
	}
	delete(d.c.images, id)
	d.c.zombies[id] = true
	return nil
}

func (d *countDriver) ListHardwareProfiles(context.Context) ([]model.HardwareProfile, error) {
	return []model.HardwareProfile{{ID: "small"}}, nil
}

// fakeClock is a settable clock for the catalog.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

type harness struct {
	gw    *Gateway
	cloud *countCloud
	clock *fakeClock
	logs  *syncBuffer
	st    store.Store
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// newHarness opens a gateway with one counting provider named after the
// test, holding n images of user "alice" (img000 ...), with extra YAML
// settings for the provider and the gateway.
func newHarness(t *testing.T, n int, provSettings, top string, prepare ...func(store.Store)) *harness {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	c := &countCloud{images: map[string]model.Image{}, hidden: map[string]bool{}, zombies: map[string]bool{}}
	for i := range n {
		id := fmt.Sprintf("img%03d", i)
		c.images[id] = model.Image{ID: id, Name: "image " + id, OwnerID: "alice", State: model.ImageAvailable}
	}
	cloudsMu.Lock()
	clouds[name] = c
	cloudsMu.Unlock()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, p := range prepare {
		p(st)
	}
	if !strings.Contains(top, "job_poll_interval") {
		top += "job_poll_interval: 10ms\n"
	}
	cfg, err := ParseConfig(strings.NewReader(top + "default_driver: counting\nproviders:\n  - {name: " + name + ", driver: counting" + provSettings + "}\n"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	gw, err := New(context.Background(), cfg, Options{Store: st, DataDir: dir, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	clock := &fakeClock{t: time.Now()}
	gw.catalog.now = clock.now
	return &harness{gw: gw, cloud: c, clock: clock, logs: logs, st: st}
}

func (h *harness) session(t *testing.T, user string) *Session {
	t.Helper()
	s, err := h.gw.Open(context.Background(), h.gw.Defaults(), model.Credentials{User: user, Password: "pw-" + user})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ids(imgs []model.Image) []string {
	out := make([]string, len(imgs))
	for i, img := range imgs {
		out[i] = img.ID
	}
	return out
}

func TestCatalogConcurrentColdListsMakeOneCall(t *testing.T) {
	h := newHarness(t, 20, "", "")
	h.cloud.hold = make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := h.session(t, "alice").ListImages(context.Background(), model.ImageQuery{})
			if err == nil && len(l.Images) != 20 {
				err = fmt.Errorf("%d images", len(l.Images))
			}
			errs <- err
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them all miss
	close(h.cloud.hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := h.cloud.lists.Load(); n != 1 {
		t.Errorf("50 concurrent cold lists made %d cloud listings, want 1", n)
	}
}

func TestCatalogFreshness(t *testing.T) {
	h := newHarness(t, 3, ", catalog_ttl: 60s, catalog_max_stale: 10m", "")
	ctx := context.Background()
	list := func() Listing {
		t.Helper()
		l, err := h.session(t, "alice").ListImages(ctx, model.ImageQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	waitLists := func(n int64) {
		t.Helper()
		for i := 0; h.cloud.lists.Load() < n; i++ {
			if i > 500 {
				t.Fatalf("cloud listings %d, want %d", h.cloud.lists.Load(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if l := list(); len(l.Images) != 3 || l.Warning != "" {
		t.Fatalf("first list %v %q", ids(l.Images), l.Warning)
	}
	h.clock.add(59 * time.Second)
	list()
	if n := h.cloud.lists.Load(); n != 1 {
		t.Fatalf("within the TTL: %d listings, want 1", n)
	}
	// past the TTL: the stale list at once, one refresh behind it
	h.clock.add(2 * time.Second)
	if l := list(); l.Warning != WarnStale || len(l.Images) != 3 {
		t.Errorf("stale answer: warning %q, %d images", l.Warning, len(l.Images))
	}
	waitLists(2)
	for i := 0; ; i++ { // the listing has started: wait for it to be installed
		if l := list(); l.Warning == "" {
			break
		} else if i > 500 {
			t.Fatalf("after the refresh: warning %q", l.Warning)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := h.cloud.lists.Load(); n != 2 {
		t.Errorf("%d listings after one expiry, want 2", n)
	}
	// the cloud goes down: within max stale, the last good list, saying so
	h.cloud.failing.Store(true)
	h.clock.add(61 * time.Second)
	list()
	waitLists(3)
	for i := 0; ; i++ {
		h.gw.catalog.lookup(h.session(t, "alice").keyFor(""), false).mu.Lock()
		e := h.gw.catalog.lookup(h.session(t, "alice").keyFor(""), false)
		done := !e.refreshing
		e.mu.Unlock()
		if done || i > 500 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.clock.add(2 * time.Second)
	if l := list(); !strings.HasPrefix(l.Warning, "111 ") || !strings.Contains(l.Warning, "cloud is down") || len(l.Images) != 3 {
		t.Errorf("failed refresh within max stale: warning %q, %d images", l.Warning, len(l.Images))
	}
	// past max stale: the cloud's error
	h.clock.add(11 * time.Minute)
	_, err := h.session(t, "alice").ListImages(ctx, model.ImageQuery{})
	if model.CodeOf(err) != model.Unavailable {
		t.Errorf("past max stale: %v, want Unavailable", err)
	}
	// wrong credentials after a good call: the cloud's 401, never the cache
	h.cloud.failing.Store(false)
	bad, _ := h.gw.Open(ctx, h.gw.Defaults(), model.Credentials{User: "alice", Password: "wrong"})
	if _, err := bad.ListImages(ctx, model.ImageQuery{}); model.CodeOf(err) != model.Unauthenticated {
		t.Errorf("wrong password: %v, want Unauthenticated", err)
	}
	if _, err := bad.GetImage(ctx, "img000"); model.CodeOf(err) != model.Unauthenticated {
		t.Errorf("wrong password, get: %v, want Unauthenticated", err)
	}
}

func TestCatalogOff(t *testing.T) {
	h := newHarness(t, 2, ", catalog_ttl: 0", "")
	for range 3 {
		if _, err := h.session(t, "alice").ListImages(context.Background(), model.ImageQuery{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.cloud.lists.Load(); n != 3 {
		t.Errorf("catalog_ttl 0: %d listings for 3 lists, want 3", n)
	}
}

func TestCatalogIdentitiesNeverShare(t *testing.T) {
	h := newHarness(t, 2, "", "")
	h.cloud.images["bobs"] = model.Image{ID: "bobs", OwnerID: "bob", State: model.ImageAvailable}
	ctx := context.Background()
	a, _ := h.session(t, "alice").ListImages(ctx, model.ImageQuery{})
	b, _ := h.session(t, "bob").ListImages(ctx, model.ImageQuery{})
	if got := strings.Join(ids(a.Images), ","); got != "img000,img001" {
		t.Errorf("alice sees %s", got)
	}
	if got := strings.Join(ids(b.Images), ","); got != "bobs" {
		t.Errorf("bob sees %s", got)
	}
	if _, err := h.session(t, "alice").GetImage(ctx, "bobs"); !model.IsNotFound(err) {
		t.Errorf("alice gets bob's image: %v", err)
	}
	if h.session(t, "alice").Identity() == h.session(t, "bob").Identity() || strings.Contains(h.session(t, "alice").Identity(), "pw-alice") {
		t.Error("identities are shared or carry the secret")
	}
}

func TestCatalogUnknownIDsCostAHandfulOfCalls(t *testing.T) {
	h := newHarness(t, 5, "", "")
	ctx := context.Background()
	s := h.session(t, "alice")
	if _, err := s.ListImages(ctx, model.ImageQuery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetImage(ctx, "img001"); err != nil {
		t.Fatal(err)
	}
	if n := h.cloud.gets.Load(); n != 0 {
		t.Errorf("a known id cost %d cloud gets", n)
	}
	for i := range 1000 {
		if _, err := s.GetImage(ctx, fmt.Sprintf("bogus%d", i)); !model.IsNotFound(err) && model.CodeOf(err) != model.ResourceExhausted {
			t.Fatalf("bogus id: %v", err)
		}
	}
	if n := h.cloud.gets.Load(); n > probeBurst+1 {
		t.Errorf("1,000 unknown ids cost %d cloud gets, want at most %d", n, probeBurst+1)
	}
	// the scheme ids resolve from the index, unknown ones with no listing
	lists := h.cloud.lists.Load()
	uuid := SchemeUUID.ID("counting", s.Target.Provider, KindImages, "img003")
	if n, err := s.ResolveImage(ctx, SchemeUUID, uuid); err != nil || n != "img003" {
		t.Errorf("resolve %s = %q, %v", uuid, n, err)
	}
	oid := SchemeObjectID.ID("counting", s.Target.Provider, KindImages, "img004")
	if n, err := s.ResolveImage(ctx, SchemeObjectID, oid); err != nil || n != "img004" {
		t.Errorf("resolve %s = %q, %v", oid, n, err)
	}
	if _, err := s.ResolveImage(ctx, SchemeObjectID, "0123456789abcdef01234567"); !model.IsNotFound(err) {
		t.Errorf("unknown ObjectID: %v", err)
	}
	if _, err := s.ResolveImage(ctx, SchemeObjectID, "not-hex"); !model.IsNotFound(err) {
		t.Errorf("malformed ObjectID: %v", err)
	}
	if n := h.cloud.lists.Load(); n != lists {
		t.Errorf("resolving ids cost %d listings", n-lists)
	}
}

func TestCatalogEvictsLeastRecentlyUsed(t *testing.T) {
	h := newHarness(t, 10, "", "catalog_max_images: 15\n")
	for i := range 3 {
		h.cloud.images[fmt.Sprintf("bob%d", i)] = model.Image{ID: fmt.Sprintf("bob%d", i), OwnerID: "bob"}
	}
	ctx := context.Background()
	h.session(t, "alice").ListImages(ctx, model.ImageQuery{}) // 10
	h.session(t, "bob").ListImages(ctx, model.ImageQuery{})   // 13
	h.cloud.images["carol"] = model.Image{ID: "carol", OwnerID: "carol"}
	for i := range 5 {
		h.cloud.images[fmt.Sprintf("carol%d", i)] = model.Image{ID: fmt.Sprintf("carol%d", i), OwnerID: "carol"}
	}
	h.session(t, "carol").ListImages(ctx, model.ImageQuery{}) // 19 > 15: alice goes
	if h.gw.catalog.total > 15 {
		t.Errorf("catalog holds %d images, bound 15", h.gw.catalog.total)
	}
	before := h.cloud.lists.Load()
	h.session(t, "bob").ListImages(ctx, model.ImageQuery{})
	if h.cloud.lists.Load() != before {
		t.Error("bob's entry (more recent) was evicted")
	}
	l, _ := h.session(t, "alice").ListImages(ctx, model.ImageQuery{})
	if h.cloud.lists.Load() != before+1 || len(l.Images) != 10 {
		t.Errorf("alice's evicted entry: %d listings, %d images", h.cloud.lists.Load()-before, len(l.Images))
	}
}

func TestCatalogReadYourWrites(t *testing.T) {
	h := newHarness(t, 2, ", catalog_ttl: 10s, catalog_max_stale: 10s", "job_poll_interval: 1h\n")
	ctx := context.Background()
	s := h.session(t, "alice")
	s.ListImages(ctx, model.ImageQuery{})
	img, _, err := s.CreateImage(ctx, model.CreateImage{InstanceID: "i1", Name: "fresh"}, JobMeta{})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := h.session(t, "alice").ListImages(ctx, model.ImageQuery{})
	if got := strings.Join(ids(l.Images), ","); got != "img000,img001,"+img.ID {
		t.Errorf("after create: %s", got)
	}
	// a cold entry (evicted, a restart) still shows it: the recent write is
	// laid over a listing that lags
	h.gw.catalog.drop(h.gw.catalog.lookup(s.keyFor(""), false))
	h.gw.catalog.lookup(s.keyFor(""), true).recent[img.ID] = recent{img: &img, at: h.clock.now()}
	l, _ = h.session(t, "alice").ListImages(ctx, model.ImageQuery{})
	if !strings.Contains(strings.Join(ids(l.Images), ","), img.ID) {
		t.Errorf("a lagging listing hides the new image: %v", ids(l.Images))
	}
	if err := s.DeleteImage(ctx, "img001"); err != nil {
		t.Fatal(err)
	}
	l, _ = h.session(t, "alice").ListImages(ctx, model.ImageQuery{})
	if strings.Contains(strings.Join(ids(l.Images), ","), "img001") {
		t.Errorf("after delete: %v", ids(l.Images))
	}
	// the cloud still lists the deleted image for a while: a refill within
	// the window does not bring it back
	h.clock.add(30 * time.Second)
	lists := h.cloud.lists.Load()
	l, _ = h.session(t, "alice").ListImages(ctx, model.ImageQuery{})
	if h.cloud.lists.Load() != lists+1 || strings.Contains(strings.Join(ids(l.Images), ","), "img001") {
		t.Errorf("a lagging cloud brought a deleted image back: %v", ids(l.Images))
	}
}

func TestCatalogJobToleratesLateVisibility(t *testing.T) {
	h := newHarness(t, 0, "", "")
	ctx := context.Background()
	h.cloud.getNF.Store(3)
	_, job, err := h.session(t, "alice").CreateImage(ctx, model.CreateImage{InstanceID: "i1"}, JobMeta{})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	done, err := h.gw.Jobs().Wait(wctx, job.ID)
	if err != nil || done.State != model.JobSucceeded {
		t.Fatalf("job %+v, %v: NotFound right after a create failed it", done, err)
	}
	if !strings.Contains(fmt.Sprint(done.Log), "not visible in the cloud yet") {
		t.Errorf("log %v", done.Log)
	}
	l, _ := h.session(t, "alice").ListImages(ctx, model.ImageQuery{})
	if len(l.Images) != 1 || l.Images[0].State != model.ImageAvailable {
		t.Errorf("after the job: %+v", l.Images)
	}
}

func TestOverlayRefusesHostileInputBeforeTheCloud(t *testing.T) {
	h := newHarness(t, 1, "", "")
	ctx := context.Background()
	var deep any = "leaf"
	for range 10000 {
		deep = map[string]any{"x": deep}
	}
	meta := JobMeta{Meta: func(m *model.ImageMeta) { m.Tags = map[string]any{"deep": deep} }}
	_, _, err := h.session(t, "alice").CreateImage(ctx, model.CreateImage{InstanceID: "i1"}, meta)
	if model.CodeOf(err) != model.InvalidArgument || !strings.Contains(err.Error(), "nested") {
		t.Errorf("nested tags: %v", err)
	}
	if n := h.cloud.creates.Load(); n != 0 {
		t.Errorf("the cloud was asked to create %d images", n)
	}
	_, err = h.session(t, "alice").UpdateImageMeta(ctx, "img000", model.ImageUpdate{}, meta.Meta)
	if model.CodeOf(err) != model.InvalidArgument {
		t.Errorf("nested tags on update: %v", err)
	}
	n := 0
	h.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(nsOverlay, "", func(string, []byte) error { n++; return nil })
	})
	if n != 0 {
		t.Errorf("%d overlay records stored", n)
	}
}

func TestOverlayCorruptRecordIsSkipped(t *testing.T) {
	h := newHarness(t, 2, "", "")
	ctx := context.Background()
	s := h.session(t, "alice")
	name := "renamed"
	if _, err := s.UpdateImage(ctx, "img000", model.ImageUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	bad := overlayKey("counting", s.Target.Provider, "img001")
	store.Put(ctx, h.st, nsOverlay, bad, []byte(`{"tags":`))
	h.clock.add(time.Hour) // past TTL and max stale: a fresh fill
	h.clock.add(time.Hour)
	l, err := h.session(t, "alice").ListImages(ctx, model.ImageQuery{})
	if err != nil || len(l.Images) != 2 {
		t.Fatalf("list with a corrupt record: %v, %v", l.Images, err)
	}
	if l.Images[0].Name != "renamed" {
		t.Errorf("the overlay name (no ImageUpdater) is not applied: %q", l.Images[0].Name)
	}
	if !strings.Contains(h.logs.String(), bad) {
		t.Errorf("the log does not name the corrupt record %s:\n%s", bad, h.logs.String())
	}
}

func TestLegacyRecordsAreMigrated(t *testing.T) {
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	uuid := SchemeUUID.ID("counting", name, KindImages, "img001")
	h := newHarness(t, 2, "", "", func(st store.Store) {
		ctx := context.Background()
		store.Put(ctx, st, legacyMeta, "counting/"+name+"/img000", []byte(`{"name":"old name","version":"2.0.0","creator":"alice"}`))
		store.Put(ctx, st, legacyIDs, "counting/"+name+"/images/"+uuid, []byte("img001"))
	})
	ctx := context.Background()
	s := h.session(t, "alice")
	img, err := s.GetImage(ctx, "img000")
	if err != nil || img.Name != "old name" || img.Meta == nil || img.Meta.Version != "2.0.0" || img.Meta.Creator != "alice" {
		t.Errorf("migrated overlay: %+v %+v, %v", img, img.Meta, err)
	}
	if n, ok, err := recordedID(ctx, h.st, SchemeUUID, "counting", name, KindImages, uuid); !ok || n != "img001" || err != nil {
		t.Errorf("migrated id mapping: %q %v %v", n, ok, err)
	}
	for _, ns := range []string{legacyMeta, legacyIDs} {
		h.st.View(ctx, func(tx store.Tx) error {
			return tx.Scan(ns, "", func(k string, _ []byte) error { t.Errorf("%s still holds %s", ns, k); return nil })
		})
	}
}
