package gateway

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// Catalog defaults; see docs/architecture.md.
const (
	defaultCatalogTTL      = 60 * time.Second
	defaultCatalogMaxStale = 10 * time.Minute
	defaultCatalogMax      = 1_000_000
	// recentWindow is how long a write made through the gateway is laid
	// over the cloud's listings, for clouds whose lists lag their writes.
	recentWindow = 2 * time.Minute
	// unknownTTL is how long an id the cloud did not know is answered 404
	// without asking again.
	unknownTTL = 10 * time.Second
	// probeBurst and probeEvery bound the driver calls that ids a fresh
	// entry lacks may cause: a stream of bad ids costs a handful of calls.
	probeBurst = 4
	probeEvery = 2 * time.Second
	// refreshTimeout bounds a background refresh.
	refreshTimeout = 2 * time.Minute
	// retryRefresh spaces background refreshes after one failed.
	retryRefresh = time.Second
)

// Warnings the catalog attaches to answers it serves past their TTL
// (RFC 7234's Warning codes 110 and 111).
const (
	WarnStale             = `110 imagegw "Response is Stale"`
	WarnRevalidateFailedF = `111 imagegw "Revalidation Failed: %s"`
)

// catalogOptions are one provider's catalog settings.
type catalogOptions struct {
	ttl      time.Duration // 0: the catalog is off for the provider
	maxStale time.Duration
}

// entryKey names one catalog entry: a provider as one identity sees it,
// optionally scoped to one owner that the driver filters natively (EC2's
// owner_id=amazon selects images the unscoped listing, the caller's own and
// the configured owners', does not hold).
type entryKey struct{ provider, identity, owner string }

// snapshot is one immutable state of an entry's images, sorted by native
// id. Writes make a new snapshot; readers keep theirs.
type snapshot struct {
	images []model.Image
	gen    uint64
	ix     snapIndex
	cold   uint64 // the provider's cold epoch when its listing began (coherence.go)
}

func (s *snapshot) find(id string) (int, bool) {
	return slices.BinarySearchFunc(s.images, id, func(img model.Image, id string) int { return strings.Compare(img.ID, id) })
}

// recent is a write made through the gateway, laid over listings for
// recentWindow: an image (created, updated) or a deletion (img nil).
type recent struct {
	img *model.Image
	at  time.Time
}

// entry is the catalog of one provider as one identity sees it.
type entry struct {
	key  entryKey
	elem *list.Element // in catalog.lru; nil once evicted (catalog.mu)
	held int           // images counted in catalog.total (catalog.mu)

	mu         sync.Mutex
	snap       *snapshot
	fetched    time.Time // of snap
	fill       *fill     // a fill in flight
	refreshing bool
	refreshErr error
	refreshAt  time.Time
	recent     map[string]recent
	unknown    map[string]time.Time
	tokens     float64
	tokensAt   time.Time
	probed     map[string]probedImage // images gets found that the listing lacks
	ids        map[Scheme]*schemeIndex
	profiles   part
	realms     part
}

// probedImage is an image a get found outside the entry's listing (a public
// image of another owner), kept as fresh as the entry.
type probedImage struct {
	img model.Image
	at  time.Time
}

type fill struct {
	cold uint64 // the provider's cold epoch at the start (coherence.go)
	done chan struct{}
	snap *snapshot
	err  error
}

// schemeIndex maps one scheme's ids of an entry's images both ways. It
// only grows: a mapping of a deleted image resolves to an id the snapshot
// lacks, which is NotFound.
type schemeIndex struct {
	fwd, rev map[string]string
	gen      uint64 // the snapshot generation covered
}

// catalog holds the entries, bounded in total images, evicting the least
// recently used entries whole.
type catalog struct {
	g   *Gateway
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[entryKey]*entry
	lru     *list.List // of *entry, most recent first
	total   int
	gen     uint64
	deleted map[string]map[string]time.Time // provider → native id → when
	shared  map[string]*part                // provider/key
	cold    coldState                       // what other replicas' writes made cold (coherence.go)

	stats struct{ hits, misses, stale, listings, refreshes, refreshFails, probes atomic.Int64 }
	event func(provider, event string) // Options.CatalogEvent; nil: none

	// ctx bounds the fills and refreshes that outlive the request that
	// started them; Gateway.Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
}

func (c *catalog) note(provider, event string) {
	if c.event != nil {
		c.event(provider, event)
	}
}

// CatalogStats counts what the catalog did since the gateway started.
type CatalogStats struct {
	Hits         int64 // lists answered from a fresh entry
	Misses       int64 // lists that waited for a cloud listing
	Stale        int64 // lists answered past their TTL
	Listings     int64 // cloud listings made (fills and refreshes)
	Refreshes    int64 // background refreshes started
	RefreshFails int64 // background refreshes that failed
	Probes       int64 // driver gets for ids an entry lacked
	Images       int64 // images held now
}

// CatalogStats returns the catalog's counters.
func (g *Gateway) CatalogStats() CatalogStats {
	c := g.catalog
	c.mu.Lock()
	total := c.total
	c.mu.Unlock()
	return CatalogStats{Hits: c.stats.hits.Load(), Misses: c.stats.misses.Load(), Stale: c.stats.stale.Load(),
		Listings: c.stats.listings.Load(), Refreshes: c.stats.refreshes.Load(), RefreshFails: c.stats.refreshFails.Load(),
		Probes: c.stats.probes.Load(), Images: int64(total)}
}

func newCatalog(g *Gateway, max int) *catalog {
	if max <= 0 {
		max = defaultCatalogMax
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &catalog{g: g, max: max, now: time.Now, entries: map[entryKey]*entry{}, lru: list.New(),
		deleted: map[string]map[string]time.Time{}, shared: map[string]*part{}, ctx: ctx, cancel: cancel}
}

// lookup returns the entry of k, creating it when create is set; it marks
// the entry used.
func (c *catalog) lookup(k entryKey, create bool) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[k]
	if e == nil {
		if !create {
			return nil
		}
		e = &entry{key: k, recent: map[string]recent{}, unknown: map[string]time.Time{}, ids: map[Scheme]*schemeIndex{},
			probed: map[string]probedImage{}, tokens: probeBurst}
		e.elem = c.lru.PushFront(e)
		c.entries[k] = e
		return e
	}
	c.lru.MoveToFront(e.elem)
	return e
}

// drop removes an entry that never got a snapshot (its first fill failed).
func (c *catalog) drop(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
		c.lru.Remove(e.elem)
		e.elem = nil
		c.total -= e.held
		e.held = 0
	}
}

// account adjusts the images e holds by delta and evicts least recently
// used entries (other than e) while the catalog is over its bound. An
// evicted entry's deltas no longer count.
func (c *catalog) account(e *entry, delta int) {
	c.mu.Lock()
	if e.elem == nil {
		c.mu.Unlock()
		return
	}
	e.held += delta
	c.total += delta
	var evict []*entry
	for el := c.lru.Back(); c.total > c.max && el != nil; {
		v := el.Value.(*entry)
		prev := el.Prev()
		if v != e {
			delete(c.entries, v.key)
			c.lru.Remove(el)
			v.elem = nil
			c.total -= v.held
			evict = append(evict, v)
			c.g.log.Info("catalog entry evicted", "provider", v.key.provider, "images", v.held)
			v.held = 0
		}
		el = prev
	}
	c.mu.Unlock()
	for _, v := range evict {
		v.mu.Lock()
		v.snap, v.ids = nil, map[Scheme]*schemeIndex{}
		v.mu.Unlock()
	}
}

func (c *catalog) nextGen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	return c.gen
}

// entriesOf returns the live entries of a provider.
func (c *catalog) entriesOf(provider string) []*entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*entry
	for k, e := range c.entries {
		if k.provider == provider {
			out = append(out, e)
		}
	}
	return out
}

// noteDeleted records a deletion for every entry of the provider.
func (c *catalog) noteDeleted(provider, id string) {
	now := c.now()
	c.mu.Lock()
	m := c.deleted[provider]
	if m == nil {
		m = map[string]time.Time{}
		c.deleted[provider] = m
	}
	for k, at := range m {
		if now.Sub(at) > recentWindow {
			delete(m, k)
		}
	}
	m[id] = now
	c.mu.Unlock()
}

func (c *catalog) deletedSince(provider string, id string, since time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.deleted[provider][id]
	return ok && c.now().Sub(at) <= recentWindow && !at.Before(since.Add(-recentWindow))
}

// Listing is a list answer from the catalog.
type Listing struct {
	// Images are the images selected, sorted by native id. The slice is
	// the caller's; the images' maps and Meta are shared and must not be
	// modified.
	Images []model.Image
	// Generation changes whenever the entry's images change.
	Generation uint64
	// Warning is set when the answer is older than the provider's
	// catalog_ttl (WarnStale) or its refresh failed (WarnRevalidateFailedF);
	// fronts send it as a Warning header.
	Warning string

	snap *snapshot // nil when the catalog is off or bypassed
}

// images returns the snapshot of sess's entry, filling or refreshing it as
// the provider's catalog options say, and the warning to attach.
func (c *catalog) images(ctx context.Context, sess *Session, owner string) (*snapshot, string, error) {
	opts := sess.pe.catalog
	if opts.ttl <= 0 {
		snap, err := c.listCloud(ctx, sess, &entry{key: sess.keyFor(owner)}, false)
		return snap, "", rethrow(err)
	}
	c.g.coherence.sync(ctx) // other replicas' writes first (coherence.go)
	e := c.lookup(sess.keyFor(owner), true)
	now := c.now()
	e.mu.Lock()
	if e.snap != nil {
		age := now.Sub(e.fetched)
		if age < opts.ttl {
			snap := e.snap
			e.mu.Unlock()
			c.stats.hits.Add(1)
			c.note(sess.Target.Provider, "hit")
			return snap, "", nil
		}
		if age < opts.ttl+opts.maxStale {
			snap, warn := e.snap, WarnStale
			if e.refreshErr != nil {
				warn = fmt.Sprintf(WarnRevalidateFailedF, strings.ReplaceAll(model.MessageOf(e.refreshErr), `"`, `'`))
			}
			if !e.refreshing && e.fill == nil && now.Sub(e.refreshAt) >= retryRefresh {
				e.refreshing, e.refreshAt = true, now
				c.stats.refreshes.Add(1)
				c.note(sess.Target.Provider, "refresh")
				go c.refresh(e, sess)
			}
			e.mu.Unlock()
			c.stats.stale.Add(1)
			c.note(sess.Target.Provider, "stale")
			return snap, warn, nil
		}
	}
	c.stats.misses.Add(1)
	c.note(sess.Target.Provider, "miss")
	f := e.fill
	if cold := c.cold.epoch(e.key.provider); f == nil || f.cold != cold {
		// none in flight, or it began before another replica's write
		f = &fill{cold: cold, done: make(chan struct{})}
		e.fill = f
		e.mu.Unlock()
		go c.doFill(c.ctx, e, f, sess)
	} else {
		e.mu.Unlock()
	}
	select {
	case <-f.done:
		return f.snap, "", rethrow(f.err)
	case <-ctx.Done():
		return nil, "", model.Wrap(model.CodeOf(ctx.Err()), ctx.Err(), "listing images: %v", ctx.Err())
	}
}

// doFill lists the cloud for e and installs the result; a failed first
// fill drops the entry, so that no entry exists without a successful call.
func (c *catalog) doFill(ctx context.Context, e *entry, f *fill, sess *Session) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	snap, err := c.listCloud(ctx, sess, e, true)
	e.mu.Lock()
	if e.fill == f {
		e.fill = nil
	}
	hadSnap := e.snap != nil
	e.mu.Unlock()
	f.snap, f.err = snap, err
	if err != nil {
		if !hadSnap {
			c.drop(e)
		}
	} else {
		c.install(e, snap)
	}
	close(f.done)
}

// refresh lists the cloud again in the background for a stale entry.
func (c *catalog) refresh(e *entry, sess *Session) {
	ctx, cancel := context.WithTimeout(c.ctx, refreshTimeout)
	defer cancel()
	snap, err := c.listCloud(ctx, sess, e, true)
	e.mu.Lock()
	e.refreshing = false
	e.refreshErr = err
	e.mu.Unlock()
	if err != nil {
		c.stats.refreshFails.Add(1)
		c.g.log.Warn("catalog refresh failed; serving the last good list", "provider", e.key.provider, "err", err)
		return
	}
	c.install(e, snap)
}

// install makes snap the entry's current snapshot.
func (c *catalog) install(e *entry, snap *snapshot) {
	e.mu.Lock()
	old := 0
	if e.snap != nil {
		old = len(e.snap.images)
	}
	e.snap, e.fetched, e.refreshErr = snap, c.fetchedAt(e.key.provider, snap), nil
	e.mu.Unlock()
	c.account(e, len(snap.images)-old)
}

// listCloud lists e's view of the provider through the driver, applies the
// overlay and (when cached) e's recent writes, and returns a sorted
// snapshot.
func (c *catalog) listCloud(ctx context.Context, sess *Session, e *entry, cached bool) (*snapshot, error) {
	var imgs []model.Image
	cold := c.cold.epoch(sess.Target.Provider)
	c.stats.listings.Add(1)
	err := c.g.safely(func() (err error) {
		q := model.ImageQuery{OwnerID: e.key.owner}
		pg, ok := sess.d.(drivers.ImagePager)
		if !ok {
			imgs, err = sess.d.ListImages(ctx, q)
			return err
		}
		token := ""
		for pages := 0; ; pages++ {
			page, next, err := pg.ListImagesPage(ctx, q, token)
			if err != nil {
				return err
			}
			imgs = append(imgs, page...)
			if next == "" {
				return nil
			}
			if next == token || pages > 1_000_000 {
				return model.Errorf(model.Internal, "driver %s: paging does not advance (token %q)", sess.Target.Driver, next)
			}
			token = next
		}
	})
	if err != nil {
		return nil, classify(err)
	}
	metas, err := c.g.loadOverlays(ctx, sess.Target.Driver, sess.Target.Provider)
	if err != nil {
		return nil, err
	}
	listedAt := c.now()
	out := imgs[:0]
	for _, img := range imgs {
		if strings.EqualFold(img.State, model.ImageDeleted) || c.deletedSince(sess.Target.Provider, img.ID, listedAt) {
			continue
		}
		out = append(out, applyMeta(img, metas[img.ID]))
	}
	clear(imgs[len(out):])
	slices.SortFunc(out, func(a, b model.Image) int { return strings.Compare(a.ID, b.ID) })
	out = slices.CompactFunc(out, func(a, b model.Image) bool { return a.ID == b.ID })
	snap := &snapshot{images: out, gen: c.nextGen(), cold: cold}
	if cached {
		e.mu.Lock()
		for id, r := range e.recent {
			if listedAt.Sub(r.at) > recentWindow {
				delete(e.recent, id)
				continue
			}
			if r.img == nil || e.key.owner != "" && r.img.OwnerID != e.key.owner {
				continue // deletions are in c.deleted; other owners' images are not this view's
			}
			if _, ok := snap.find(id); ok {
				delete(e.recent, id) // the cloud shows it: its view wins
				continue
			}
			snap.images = slices.Insert(snap.images, mustInsertAt(snap, id), *r.img)
		}
		e.mu.Unlock()
	}
	return snap, nil
}

func mustInsertAt(s *snapshot, id string) int {
	i, _ := s.find(id)
	return i
}

// upsert lays an image over the catalog at once: over sess's entries
// (unscoped, and scoped to the image's owner) when insert is set (a write
// the session made, or its job's poll), noting it as a recent write, and
// over every other entry of the provider that already holds it. The image
// gets its overlay first.
func (c *catalog) upsert(ctx context.Context, sess *Session, img model.Image, insert bool) model.Image {
	if m, err := c.g.loadOverlay(ctx, sess.Target.Driver, sess.Target.Provider, img.ID); err == nil {
		img = applyMeta(img, m)
	}
	if insert {
		defer c.publish(ctx, sess.Target.Provider, opPut, img.ID) // coherence.go
	}
	if sess.pe.catalog.ttl <= 0 {
		return img
	}
	entries := c.entriesOf(sess.Target.Provider)
	if insert {
		mine := c.lookup(sess.keyFor(""), true)
		if !slices.Contains(entries, mine) {
			entries = append(entries, mine)
		}
	}
	for _, e := range entries {
		mine := insert && e.key.identity == sess.identity && (e.key.owner == "" || e.key.owner == img.OwnerID)
		e.mu.Lock()
		delete(e.unknown, img.ID)
		if p, ok := e.probed[img.ID]; ok {
			e.probed[img.ID] = probedImage{img: img, at: p.at}
		}
		if mine {
			cp := img
			e.recent[img.ID] = recent{img: &cp, at: c.now()}
		}
		delta := 0
		if e.snap != nil {
			i, found := e.snap.find(img.ID)
			if found || mine {
				imgs := make([]model.Image, 0, len(e.snap.images)+1)
				imgs = append(imgs, e.snap.images[:i]...)
				imgs = append(imgs, img)
				if found {
					imgs = append(imgs, e.snap.images[i+1:]...)
				} else {
					imgs = append(imgs, e.snap.images[i:]...)
					delta = 1
				}
				e.snap = &snapshot{images: imgs, gen: c.nextGen()}
			}
		}
		e.mu.Unlock()
		if delta != 0 {
			c.account(e, delta)
		}
	}
	return img
}

// probedFound keeps an image a get found that sess's entry does not list.
func (c *catalog) probedFound(sess *Session, img model.Image) {
	if sess.pe.catalog.ttl <= 0 {
		return
	}
	e := c.lookup(sess.keyFor(""), false)
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snap != nil {
		if _, ok := e.snap.find(img.ID); ok {
			return
		}
	}
	if len(e.probed) > 4096 {
		clear(e.probed)
	}
	e.probed[img.ID] = probedImage{img: img, at: c.now()}
}

// remove drops a deleted image from every entry of the provider at once,
// here and (coherence.go) on the other replicas.
func (c *catalog) remove(sess *Session, id string) {
	c.removeLocal(sess.Target.Provider, id)
	c.publish(context.Background(), sess.Target.Provider, opDelete, id)
}

// removeLocal drops a deleted image from every entry of the provider.
func (c *catalog) removeLocal(provider, id string) {
	c.noteDeleted(provider, id)
	for _, e := range c.entriesOf(provider) {
		e.mu.Lock()
		delete(e.recent, id)
		delete(e.probed, id)
		removed := false
		if e.snap != nil {
			if i, ok := e.snap.find(id); ok {
				imgs := slices.Concat(e.snap.images[:i], e.snap.images[i+1:])
				e.snap = &snapshot{images: imgs, gen: c.nextGen()}
				removed = true
			}
		}
		e.mu.Unlock()
		if removed {
			c.account(e, -1)
		}
	}
}

// errProbeBudget answers a get of an id the entry lacks when the entry's
// probe budget is spent: a stream of unknown ids gets 429s, not one cloud
// call each.
var errProbeBudget = &model.Error{Code: model.ResourceExhausted, RetryAfter: probeEvery,
	Message: "too many lookups of images this catalog does not hold; retry shortly"}

// cached answers a get of id from sess's entry: found with the image;
// else err is NotFound (the cloud said so moments ago) or the probe budget
// error; else (all zero) the caller asks the driver.
// With peek, no probe is counted or refused: the caller only looks.
func (c *catalog) cached(sess *Session, id string, peek bool) (img model.Image, found bool, err error) {
	if sess.pe.catalog.ttl <= 0 {
		return model.Image{}, false, nil
	}
	e := c.lookup(sess.keyFor(""), false)
	if e == nil {
		return model.Image{}, false, nil
	}
	syncCoherence(c.g.coherence)
	now := c.now()
	ttl := sess.pe.catalog.ttl
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snap == nil || now.Sub(e.fetched) >= ttl+sess.pe.catalog.maxStale {
		return model.Image{}, false, nil
	}
	if i, ok := e.snap.find(id); ok {
		return e.snap.images[i], true, nil
	}
	if p, ok := e.probed[id]; ok && now.Sub(p.at) < ttl {
		return p.img, true, nil
	}
	if at, ok := e.unknown[id]; ok && now.Sub(at) < unknownTTL || c.deletedSince(sess.Target.Provider, id, now) {
		return model.Image{}, false, model.Errorf(model.NotFound, "image %s not found", id)
	}
	if peek {
		return model.Image{}, false, nil
	}
	// a probe token: burst probeBurst, one more every probeEvery
	e.tokens = min(probeBurst, e.tokens+float64(now.Sub(e.tokensAt))/float64(probeEvery))
	e.tokensAt = now
	if e.tokens < 1 {
		return model.Image{}, false, errProbeBudget
	}
	e.tokens--
	c.stats.probes.Add(1)
	return model.Image{}, false, nil
}

// noteUnknown remembers that the cloud does not know id.
func (c *catalog) noteUnknown(sess *Session, id string) {
	if sess.pe.catalog.ttl <= 0 {
		return
	}
	e := c.lookup(sess.keyFor(""), false)
	if e == nil {
		return
	}
	now := c.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.unknown) > 4096 {
		for k, at := range e.unknown {
			if now.Sub(at) >= unknownTTL {
				delete(e.unknown, k)
			}
		}
		if len(e.unknown) > 4096 {
			clear(e.unknown)
		}
	}
	e.unknown[id] = now
}

// schemeIDs returns the forward and reverse maps of a scheme over the
// entry's current snapshot, extending them to images added since.
func (c *catalog) schemeIDs(sess *Session, snap *snapshot, s Scheme) *schemeIndex {
	if sess.pe.catalog.ttl <= 0 {
		return buildIndex(sess, snap, s, nil)
	}
	e := c.lookup(sess.keyFor(""), false)
	if e == nil {
		return buildIndex(sess, snap, s, nil)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ix := e.ids[s]
	if ix != nil && ix.gen == snap.gen {
		return ix
	}
	ix = buildIndex(sess, snap, s, ix)
	e.ids[s] = ix
	return ix
}

// buildIndex extends ix (nil: a new index) to every image of snap. The
// maps are replaced, never changed in place, so readers of an older index
// need no lock.
func buildIndex(sess *Session, snap *snapshot, s Scheme, ix *schemeIndex) *schemeIndex {
	n := &schemeIndex{fwd: make(map[string]string, len(snap.images)), rev: make(map[string]string, len(snap.images)), gen: snap.gen}
	for _, img := range snap.images {
		id := ""
		if ix != nil {
			id = ix.fwd[img.ID]
		}
		if id == "" {
			id = s.ID(sess.Target.Driver, sess.Target.Provider, KindImages, img.ID)
		}
		n.fwd[img.ID] = id
		n.rev[id] = img.ID
	}
	return n
}

// part is a cached value (profiles, realms, a provider's shared part)
// filled by one fetch at a time and fresh for the provider's TTL; past it,
// within max stale, a failed fetch serves the last good value.
type part struct {
	mu      sync.Mutex
	val     any
	fetched time.Time
	stamp   uint64 // changes with every successful fetch
	flight  *partFlight
}

// stamps numbers successful part fetches, so that answers made from a part
// can be keyed by the value they saw.
var stamps atomic.Uint64

type partFlight struct {
	done chan struct{}
	val  any
	err  error
}

func (p *part) load(ctx, base context.Context, now time.Time, opts catalogOptions, fetch func(context.Context) (any, error)) (any, error) {
	if opts.ttl <= 0 {
		return fetch(ctx)
	}
	p.mu.Lock()
	if p.val != nil && now.Sub(p.fetched) < opts.ttl {
		v := p.val
		p.mu.Unlock()
		return v, nil
	}
	if p.val != nil && opts.ttl+opts.maxStale > now.Sub(p.fetched) && p.flight != nil {
		// a refresh is under way: the last value meanwhile
		v := p.val
		p.mu.Unlock()
		return v, nil
	}
	f := p.flight
	if f == nil {
		f = &partFlight{done: make(chan struct{})}
		p.flight = f
		p.mu.Unlock()
		go func() {
			fctx, cancel := context.WithTimeout(base, refreshTimeout)
			defer cancel()
			var v any
			err := safely(nil, func() (err error) {
				v, err = fetch(fctx)
				return err
			})
			p.mu.Lock()
			p.flight = nil
			if err == nil {
				p.val, p.fetched, p.stamp = v, time.Now(), stamps.Add(1)
			} else if p.val != nil && time.Since(p.fetched) < opts.ttl+opts.maxStale {
				v, err = p.val, nil // the last good value, within max stale
			}
			p.mu.Unlock()
			f.val, f.err = v, err
			close(f.done)
		}()
	} else {
		p.mu.Unlock()
	}
	select {
	case <-f.done:
		return f.val, rethrow(f.err)
	case <-ctx.Done():
		return nil, model.Wrap(model.CodeOf(ctx.Err()), ctx.Err(), "%v", ctx.Err())
	}
}

// safely runs fn, turning a panic (a driver bug) into a model.Internal
// error, logged with its stack: catalog fills run outside any request's
// recovery.
func (g *Gateway) safely(fn func() error) error { return safely(g.log, fn) }

func safely(log *slog.Logger, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if log != nil {
				log.Error("driver panic in a catalog fill", "panic", r, "stack", string(debug.Stack()))
			}
			err = &panicError{val: r}
		}
	}()
	return fn()
}

// panicError carries a fill's panic to the requests waiting for it, which
// panic again, so that each is answered as any panicking request is.
type panicError struct{ val any }

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.val) }

// rethrow panics again with a fill's panic.
func rethrow(err error) error {
	var p *panicError
	if errors.As(err, &p) {
		panic(p.val)
	}
	return err
}

// sharedParts is the drivers.Shared of one provider.
type sharedParts struct {
	c    *catalog
	prov string
	opts catalogOptions
}

var _ drivers.Shared = sharedParts{}

// Load implements drivers.Shared.
func (s sharedParts) Load(ctx context.Context, key string, fetch func(context.Context) (any, error)) (any, error) {
	s.c.mu.Lock()
	p := s.c.shared[s.prov+"/"+key]
	if p == nil {
		p = &part{}
		s.c.shared[s.prov+"/"+key] = p
	}
	s.c.mu.Unlock()
	return p.load(ctx, s.c.ctx, s.c.now(), s.opts, fetch)
}
