package server

import (
	"log/slog"
	"net/http"
	"time"
)

// Timeouts bound what one connection may hold of the server. The defaults
// (DefaultTimeouts) fit the longest legitimate request: a list of 100,000
// images (about 100 MB of XML) that streams for minutes to a slow client,
// while a client that stops sending or reading is cut off.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included (bodies are at
	// most 1 MiB): a client that trickles its body is dropped after it.
	Read time.Duration
	// Write bounds the time from the end of the request to the first byte
	// of the answer, and to any byte of it while no byte went out for
	// WriteIdle: it must exceed the longest provider request_timeout.
	Write time.Duration
	// WriteIdle is how much longer an answer that is streaming may take
	// after each write: a list that keeps sending is never cut, a client
	// that stops reading is cut after WriteIdle.
	WriteIdle time.Duration
	// Idle bounds a keep-alive connection between requests.
	Idle time.Duration
}

// DefaultTimeouts are what `imagegw serve` uses.
var DefaultTimeouts = Timeouts{
	ReadHeader: 10 * time.Second,
	Read:       time.Minute,
	Write:      2 * time.Minute,
	WriteIdle:  time.Minute,
	Idle:       2 * time.Minute,
}

// NewHTTPServer returns the http.Server that serves h with timeouts t,
// logging the server's own errors (bad TLS, cut connections) at warn.
func NewHTTPServer(h http.Handler, t Timeouts, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if t.WriteIdle > 0 {
		h = extendWrites(t.WriteIdle, h)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// extendWrites moves the connection's write deadline to idle after each
// write (at most every idle/8), so that a streaming answer outlives the
// server's WriteTimeout for as long as it makes progress.
func extendWrites(idle time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&progressWriter{ResponseWriter: w, rc: http.NewResponseController(w), idle: idle}, r)
	})
}

type progressWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	idle     time.Duration
	extended time.Time // when the deadline was last moved
}

// Write extends the deadline, then writes.
func (p *progressWriter) Write(b []byte) (int, error) {
	if now := time.Now(); now.Sub(p.extended) >= p.idle/8 {
		p.extended = now
		_ = p.rc.SetWriteDeadline(now.Add(p.idle))
	}
	return p.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
