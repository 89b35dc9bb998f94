package gateway

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/imagegw/imagegw/store"
)

// Catalog coherence between replicas.
//
// When the store is a store.Notifier (PostgreSQL, shared by several
// replicas), every write the catalog lays over itself (a create, an update,
// a job's state change: catalog.upsert with insert; a delete:
// catalog.remove; UpdateImageMeta) is published on catalogChannel after it
// is made, before the client gets its answer. Every other replica, on
// hearing it:
//   - for a delete, removes the image from each of its entries of that
//     provider at once (as the deleting replica did);
//   - for anything else, makes each of its entries of that provider cold:
//     the next list waits for a fresh listing (its own recent writes are
//     still laid over it), and a listing already in flight when the
//     message came is not taken as fresh.
//
// A replica whose listening connection breaks may have missed messages: it
// makes its whole catalog cold, reconnects (with backoff), and makes it cold
// again once listening, so that nothing it missed survives.
//
// Without a Notifier (SQLite: one process) the catalog sees every write
// because this process made it; nothing is published.

// catalogChannel is the Notifier channel of catalog changes.
const catalogChannel = "imagegw_catalog"

// Operations of a catalog event.
const (
	opPut    = "put"
	opDelete = "del"
)

// catalogEvent is one published catalog change.
type catalogEvent struct {
	Origin   string `json:"o"`
	Op       string `json:"op"`
	Provider string `json:"p"`
	ID       string `json:"id"`
}

// publishTimeout bounds a publish in the request path.
const publishTimeout = 2 * time.Second

// coldState counts, per provider and for the whole catalog, the times the
// catalog was made cold: a listing that started under an older count is not
// installed as fresh. The zero value is ready.
type coldState struct {
	mu  sync.Mutex
	per map[string]uint64
	all uint64
}

// epoch returns provider's count.
func (s *coldState) epoch(provider string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all + s.per[provider]
}

func (s *coldState) bump(provider string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if provider == "" {
		s.all++
		return
	}
	if s.per == nil {
		s.per = map[string]uint64{}
	}
	s.per[provider]++
}

// fetchedAt is the time install records for snap: now, unless the
// provider was made cold while snap was being listed.
func (c *catalog) fetchedAt(provider string, snap *snapshot) time.Time {
	if snap.cold != c.cold.epoch(provider) {
		return time.Time{}
	}
	return c.now()
}

// makeCold makes every entry of provider ("" : of every provider) cold.
func (c *catalog) makeCold(provider string) {
	c.cold.bump(provider)
	c.mu.Lock()
	var es []*entry
	for k, e := range c.entries {
		if provider == "" || k.provider == provider {
			es = append(es, e)
		}
	}
	c.mu.Unlock()
	for _, e := range es {
		e.mu.Lock()
		e.fetched = time.Time{}
		e.mu.Unlock()
	}
}

// publish tells the other replicas that image id of provider changed (op
// opPut) or was deleted (opDelete). A failure is logged: the other
// replicas then see the change when their entries' TTL runs out.
func (c *catalog) publish(ctx context.Context, provider, op, id string) {
	n, ok := c.g.store.(store.Notifier)
	if !ok {
		return
	}
	b, err := json.Marshal(catalogEvent{Origin: c.g.replica, Op: op, Provider: provider, ID: id})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := n.Publish(ctx, catalogChannel, b); err != nil {
		c.g.log.Warn("catalog change not published: other replicas see it after their catalog_ttl", "provider", provider, "image", id, "err", err)
	}
}

// syncTimeout bounds how long a read waits for the notifications that
// precede it; past it the catalog is made cold instead.
const syncTimeout = 2 * time.Second

// coherence listens for the other replicas' catalog changes.
type coherence struct {
	g      *Gateway
	n      store.Notifier
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	listening bool
	processed int64         // the channel's last message handled
	changed   chan struct{} // closed (and replaced) when processed grows

	// Reads of the channel's number are shared: one query in flight at a
	// time, answering every sync that arrived before it started.
	qmu     sync.Mutex
	next    *seqQuery // the query that starts when the one in flight ends
	running bool
}

// seqQuery is one read of the channel's last message number.
type seqQuery struct {
	done chan struct{}
	seq  int64
	err  error
}

// latest returns the channel's last message number, read by a query that
// began after latest was called: concurrent callers share it.
func (h *coherence) latest(ctx context.Context) (int64, error) {
	h.qmu.Lock()
	q := h.next
	if q == nil {
		q = &seqQuery{done: make(chan struct{})}
		h.next = q
	}
	if !h.running {
		h.running = true
		go h.queries()
	}
	h.qmu.Unlock()
	select {
	case <-q.done:
		return q.seq, q.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// queries runs the pending query, then the next, until none is waiting.
func (h *coherence) queries() {
	for {
		h.qmu.Lock()
		q := h.next
		h.next = nil
		if q == nil {
			h.running = false
			h.qmu.Unlock()
			return
		}
		h.qmu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
		q.seq, q.err = h.n.Sequence(ctx, catalogChannel)
		cancel()
		close(q.done)
	}
}

// startCoherence starts listening when the store is a store.Notifier; it
// returns once the first subscription is up (or failed: the listener then
// keeps retrying, the catalog cold meanwhile).
func (g *Gateway) startCoherence(ctx context.Context) {
	n, ok := g.store.(store.Notifier)
	if !ok {
		return
	}
	lctx, cancel := context.WithCancel(context.Background())
	h := &coherence{g: g, n: n, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
	g.coherence = h
	sub, err := h.subscribe(ctx)
	if err != nil {
		g.log.Warn("catalog notifications: cannot listen yet; retrying", "err", err)
	}
	go h.run(lctx, sub)
}

// stop ends the listener.
func (h *coherence) stop() {
	if h == nil {
		return
	}
	h.cancel()
	<-h.done
}

// subscribe listens, then makes the catalog cold and counts every message
// published so far as handled: what was published before LISTEN took
// effect is covered by the cold catalog, what came after is delivered.
func (h *coherence) subscribe(ctx context.Context) (store.Subscription, error) {
	sub, err := h.n.Subscribe(ctx, catalogChannel)
	if err != nil {
		return nil, err
	}
	latest, err := h.n.Sequence(ctx, catalogChannel)
	if err != nil {
		sub.Close()
		return nil, err
	}
	h.g.catalog.makeCold("")
	h.mu.Lock()
	h.processed = latest // not the max: the numbers restart after a database crash
	h.mu.Unlock()
	h.handled(latest, true)
	return sub, nil
}

// handled records that messages up to seq are handled, and whether the
// listener is up.
func (h *coherence) handled(seq int64, listening bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.listening = listening
	if seq > h.processed || listening {
		h.processed = max(h.processed, seq)
		close(h.changed)
		h.changed = make(chan struct{})
	}
}

// sync returns once the catalog has handled every change the other
// replicas published before it was called (one query for the channel's
// sequence number, shared by concurrent callers, then usually no wait): a client that wrote on one
// replica and reads on another sees its write. When that cannot be made
// sure (not listening, the database unreachable, a message late past
// syncTimeout) the catalog is made cold, so that the read asks the cloud.
func (h *coherence) sync(ctx context.Context) {
	if h == nil {
		return
	}
	h.mu.Lock()
	listening := h.listening
	h.mu.Unlock()
	if !listening {
		h.g.catalog.makeCold("")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	latest, err := h.latest(ctx)
	if err != nil {
		h.g.catalog.makeCold("")
		return
	}
	for {
		h.mu.Lock()
		done, changed := h.processed >= latest, h.changed
		h.mu.Unlock()
		if done {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			h.g.catalog.makeCold("")
			return
		}
	}
}

func (h *coherence) run(ctx context.Context, sub store.Subscription) {
	defer close(h.done)
	c := h.g.catalog
	log := h.g.log
	backoff := 100 * time.Millisecond
	for {
		if sub == nil {
			var err error
			if sub, err = h.subscribe(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				log.Warn("catalog notifications: reconnecting failed", "err", err, "retry_in", backoff.String())
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
			log.Info("catalog notifications: listening again; catalog made cold")
		}
		backoff = 100 * time.Millisecond
		for {
			m, err := sub.Next(ctx)
			if err != nil {
				h.handled(0, false)
				sub.Close()
				sub = nil
				if ctx.Err() != nil {
					return
				}
				c.makeCold("")
				log.Warn("catalog notifications lost: catalog made cold; reconnecting", "err", err)
				break
			}
			var ev catalogEvent
			if json.Unmarshal(m.Payload, &ev) == nil && ev.Origin != h.g.replica && ev.Provider != "" {
				if ev.Op == opDelete {
					c.removeLocal(ev.Provider, ev.ID)
				} else {
					c.makeCold(ev.Provider)
				}
			}
			h.handled(m.Seq, true)
		}
	}
}

// syncCoherence is sync for the callers that have no context (the
// catalog's get path): bounded by syncTimeout.
func syncCoherence(h *coherence) {
	if h != nil {
		h.sync(context.Background())
	}
}
