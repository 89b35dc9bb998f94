package api

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Encoded answers: sizes.
const (
	// DefaultAnswerBudget is the memory an Answers keeps encoded answers in.
	DefaultAnswerBudget = 64 << 20
	// maxBuffered is the largest body held whole (and so given a strong
	// ETag); a larger one streams.
	maxBuffered = 16 << 20
	// gzipMin is the smallest body sent gzipped to a client that accepts it.
	gzipMin = 1024
)

// Body is one answer for Answers.Send.
type Body struct {
	Status      int
	ContentType string
	// Key, if set, names the answer's content (the front, format, base URL,
	// query and the catalog generation it came from): an answer already
	// encoded under Key is sent again without rendering. Keys must change
	// whenever the content would.
	Key string
	// ContentMD5 adds Content-MD5 (CloudAPI's) to answers held whole.
	ContentMD5 bool
	// Header, if set, adds headers just before the status is written.
	Header func(http.Header)
	// Write produces the body; it is called at most once per Send.
	Write func(io.Writer) error
}

// Answers keeps encoded answers by key, within a memory budget, least
// recently used first out; concurrent Sends of one key share one encoding.
// A nil *Answers caches nothing.
type Answers struct {
	budget int

	mu      sync.Mutex
	m       map[string]*list.Element // of *encoded
	lru     *list.List
	used    int
	flights map[string]*encodeFlight
}

// NewAnswers returns an Answers holding at most budget bytes of answers.
func NewAnswers(budget int) *Answers {
	return &Answers{budget: budget, m: map[string]*list.Element{}, lru: list.New(), flights: map[string]*encodeFlight{}}
}

// encoded is one answer: the body and its gzip form, or (streamed) only
// the weak ETag of a body too large to keep.
type encoded struct {
	key      string
	body     []byte
	gz       []byte
	gzOnce   sync.Once
	md5      [16]byte
	streamed bool

	// header values, made once and shared by every answer (net/http only
	// reads them)
	hdrOnce                          sync.Once
	etagV, lenV, gzLenV, md5V, ctype []string
}

var (
	cacheControlV = []string{"max-age=0, private, must-revalidate"}
	gzipV         = []string{"gzip"}
)

func (e *encoded) headers(ctype string) {
	e.hdrOnce.Do(func() {
		e.etagV = []string{e.etag()}
		e.lenV = []string{strconv.Itoa(len(e.body))}
		e.md5V = []string{base64.StdEncoding.EncodeToString(e.md5[:])}
		e.ctype = []string{ctype}
	})
}

type encodeFlight struct {
	done chan struct{}
	enc  *encoded
	err  error
}

func (e *encoded) size() int { return len(e.body) + len(e.gz) + len(e.key) + 64 }

func (e *encoded) etag() string {
	if e.streamed {
		return weakETag(e.key)
	}
	return `"` + hex.EncodeToString(e.md5[:]) + `"`
}

func weakETag(key string) string {
	sum := sha256.Sum256([]byte(key))
	return `W/"` + hex.EncodeToString(sum[:12]) + `"`
}

func (a *Answers) get(key string) *encoded {
	if a == nil || key == "" {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if el, ok := a.m[key]; ok {
		a.lru.MoveToFront(el)
		return el.Value.(*encoded)
	}
	return nil
}

func (a *Answers) put(e *encoded) {
	if a == nil || e.key == "" || e.size() > a.budget/2 && !e.streamed {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if el, ok := a.m[e.key]; ok {
		a.used -= el.Value.(*encoded).size()
		a.lru.Remove(el)
	}
	a.m[e.key] = a.lru.PushFront(e)
	a.used += e.size()
	for a.used > a.budget && a.lru.Len() > 1 {
		el := a.lru.Back()
		old := el.Value.(*encoded)
		a.lru.Remove(el)
		delete(a.m, old.key)
		a.used -= old.size()
	}
}

// grow accounts for a gzip form added to a kept answer.
func (a *Answers) grow(n int) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.used += n
	a.mu.Unlock()
}

// AcceptsGzip reports whether a request accepts a gzip body.
func AcceptsGzip(r *http.Request) bool {
	ae := r.Header.Get("Accept-Encoding")
	if ae == "" {
		return false
	}
	for part := range strings.SplitSeq(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") || strings.TrimSpace(name) == "*" {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// Send writes a 200 or 201 body, encoded once:
//   - An answer of at most 16 MiB is held whole: it gets a strong ETag (the
//     quoted hex MD5 of the body), a Content-Length, 304 when a GET or
//     HEAD's If-None-Match matches, and with a Key it is kept (with its
//     gzip form once asked for) and sent again without rendering.
//   - A larger answer streams as it is rendered, the first bytes leaving
//     before the last are made, with a weak ETag made from its Key (which
//     changes with the catalog generation) or none without a Key; a
//     matching If-None-Match then costs no rendering at all.
//   - Bodies over 1 KiB are gzipped for clients that accept it, with
//     Vary: Accept-Encoding.
//
// If rendering fails once the status is sent, Send aborts the connection
// (panics with http.ErrAbortHandler, which net/http handles quietly) so the
// client sees a truncated body as an error, not a short list.
func (a *Answers) Send(w http.ResponseWriter, r *http.Request, b Body) error {
	h := answerHeader(w)
	cond := r.Method == http.MethodGet || r.Method == http.MethodHead
	if e := a.get(b.Key); e != nil {
		if !e.streamed {
			a.sendKept(w, r, b, e)
			return nil
		}
		if cond && r.Header.Get("If-None-Match") != "" && ETagMatches(r.Header.Get("If-None-Match"), e.etag()) {
			h.Set("ETag", e.etag())
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		return a.stream(w, r, b, nil)
	}
	if b.Key == "" || a == nil {
		return a.encodeAndSend(w, r, b, nil)
	}
	a.mu.Lock()
	f := a.flights[b.Key]
	if f != nil {
		a.mu.Unlock()
		<-f.done
		if f.err != nil || f.enc == nil {
			return a.encodeAndSend(w, r, b, nil) // the leader failed or streamed: do our own
		}
		if cond && ETagMatches(r.Header.Get("If-None-Match"), f.enc.etag()) {
			h.Set("ETag", f.enc.etag())
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		a.sendWhole(w, r, b, f.enc)
		return nil
	}
	f = &encodeFlight{done: make(chan struct{})}
	a.flights[b.Key] = f
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.flights, b.Key)
		a.mu.Unlock()
		close(f.done)
	}()
	return a.encodeAndSend(w, r, b, f)
}

// answerHeader sets the headers of every answer Send writes.
func answerHeader(w http.ResponseWriter) http.Header {
	h := w.Header()
	if v := h["Vary"]; !containsToken(v, "Accept-Encoding") {
		h["Vary"] = []string{strings.Join(append(v, "Accept-Encoding"), ", ")}
	}
	h["Cache-Control"] = cacheControlV
	return h
}

// SendKept sends the answer held whole under b.Key, if there is one, as
// Send would (b.Write is not needed), and reports whether it did. A front
// that knows an answer's key calls it before it gathers what rendering
// the answer would take; when it reports false, Send renders.
func (a *Answers) SendKept(w http.ResponseWriter, r *http.Request, b Body) bool {
	if a == nil || b.Key == "" {
		return false
	}
	e := a.get(b.Key)
	if e == nil || e.streamed {
		return false
	}
	answerHeader(w)
	a.sendKept(w, r, b, e)
	return true
}

// sendKept answers with e, held whole: 304 when a GET or HEAD's
// If-None-Match matches, else the body.
func (a *Answers) sendKept(w http.ResponseWriter, r *http.Request, b Body, e *encoded) {
	if inm := r.Header.Get("If-None-Match"); inm != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) && ETagMatches(inm, e.etag()) {
		w.Header().Set("ETag", e.etag())
		w.WriteHeader(http.StatusNotModified)
		return
	}
	a.sendWhole(w, r, b, e)
}

// encodeAndSend renders b once into a buffer that spills into a stream past
// maxBuffered; a whole body is kept under its key and handed to f's waiters.
func (a *Answers) encodeAndSend(w http.ResponseWriter, r *http.Request, b Body, f *encodeFlight) error {
	sp := &spill{a: a, w: w, r: r, b: b}
	err := b.Write(sp)
	if sp.spilled {
		if err == nil {
			err = sp.finish()
		}
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		if b.Key != "" {
			a.put(&encoded{key: b.Key, streamed: true})
		}
		return nil
	}
	if err != nil {
		if f != nil {
			f.err = err
		}
		return err
	}
	body := sp.buf.Bytes()
	e := &encoded{key: b.Key, body: body, md5: md5.Sum(body)}
	a.put(e)
	if f != nil {
		f.enc = e
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && ETagMatches(r.Header.Get("If-None-Match"), e.etag()) {
		w.Header().Set("ETag", e.etag())
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	a.sendWhole(w, r, b, e)
	return nil
}

// sendWhole writes a kept answer, gzipped when the client accepts it.
func (a *Answers) sendWhole(w http.ResponseWriter, r *http.Request, b Body, e *encoded) {
	e.headers(b.ContentType)
	h := w.Header()
	h["Etag"] = e.etagV
	h["Content-Type"] = e.ctype
	if b.ContentType != e.ctype[0] {
		h["Content-Type"] = []string{b.ContentType}
	}
	if b.ContentMD5 {
		h["Content-Md5"] = e.md5V
	}
	body, n := e.body, e.lenV
	if len(e.body) > gzipMin && AcceptsGzip(r) {
		e.gzOnce.Do(func() {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
			zw.Write(e.body)
			zw.Close()
			e.gz = buf.Bytes()
			e.gzLenV = []string{strconv.Itoa(len(e.gz))}
			a.grow(len(e.gz))
		})
		body, n = e.gz, e.gzLenV
		h["Content-Encoding"] = gzipV
	}
	h["Content-Length"] = n
	if b.Header != nil {
		b.Header(h)
	}
	w.WriteHeader(b.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// stream renders b straight to the client (an answer known to be too large
// to keep).
func (a *Answers) stream(w http.ResponseWriter, r *http.Request, b Body, _ *encodeFlight) error {
	sp := &spill{a: a, w: w, r: r, b: b, limit: -1}
	if err := b.Write(sp); err != nil {
		if !sp.spilled {
			return err
		}
		panic(http.ErrAbortHandler)
	}
	if !sp.spilled {
		sp.spillNow()
	}
	if err := sp.finish(); err != nil {
		panic(http.ErrAbortHandler)
	}
	return nil
}

// spill buffers a body up to maxBuffered (limit -1: none), then sends the
// headers and what it holds and passes the rest through, gzipped when the
// client accepts it.
type spill struct {
	a       *Answers
	w       http.ResponseWriter
	r       *http.Request
	b       Body
	limit   int
	buf     chunkBuf
	spilled bool
	out     io.Writer
	zw      *gzip.Writer
}

func (s *spill) Write(p []byte) (int, error) {
	if s.spilled {
		return s.out.Write(p)
	}
	limit := maxBuffered
	if s.limit < 0 {
		limit = 0
	}
	if s.buf.Len()+len(p) <= limit {
		return s.buf.Write(p)
	}
	if err := s.spillNow(); err != nil {
		return 0, err
	}
	return s.out.Write(p)
}

func (s *spill) spillNow() error {
	s.spilled = true
	h := s.w.Header()
	h.Set("Content-Type", s.b.ContentType)
	if s.b.Key != "" {
		h.Set("ETag", weakETag(s.b.Key))
	}
	s.out = s.w
	if s.r.Method == http.MethodHead {
		s.out = io.Discard
	} else if AcceptsGzip(s.r) {
		h.Set("Content-Encoding", "gzip")
		s.zw, _ = gzip.NewWriterLevel(s.w, gzip.BestSpeed)
		s.out = s.zw
	}
	if s.b.Header != nil {
		s.b.Header(h)
	}
	s.w.WriteHeader(s.b.Status)
	err := s.buf.writeTo(s.out)
	s.buf = chunkBuf{}
	return err
}

func (s *spill) finish() error {
	if s.zw != nil {
		return s.zw.Close()
	}
	return nil
}

func containsToken(values []string, tok string) bool {
	for _, v := range values {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), tok) {
				return true
			}
		}
	}
	return false
}

// chunkBuf holds a body in 256 KiB chunks, so that growing it never copies
// what it holds: a body that spills into a stream costs at most
// maxBuffered of memory, and one kept costs one exact copy.
type chunkBuf struct {
	chunks [][]byte
	n      int
}

const chunkSize = 256 << 10

func (c *chunkBuf) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(c.chunks) == 0 || len(c.chunks[len(c.chunks)-1]) == cap(c.chunks[len(c.chunks)-1]) {
			c.chunks = append(c.chunks, make([]byte, 0, chunkSize))
		}
		last := &c.chunks[len(c.chunks)-1]
		k := min(len(p), cap(*last)-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	c.n += n
	return n, nil
}

// Len is the number of bytes held.
func (c *chunkBuf) Len() int { return c.n }

// Bytes returns the body as one slice of exactly its length.
func (c *chunkBuf) Bytes() []byte {
	out := make([]byte, 0, c.n)
	for _, ch := range c.chunks {
		out = append(out, ch...)
	}
	return out
}

// writeTo writes the chunks to w in order.
func (c *chunkBuf) writeTo(w io.Writer) error {
	for _, ch := range c.chunks {
		if _, err := w.Write(ch); err != nil {
			return err
		}
	}
	return nil
}
