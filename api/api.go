// Package api holds what every front shares: request ids, panic recovery,
// access logs, matrix-parameter parsing, credentials, and sending bodies
// with strong ETags. Each front (api/deltacloud, api/cloudapi, ...) is its
// own package; api/server mounts them all on one router.
package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// Version is imagegw's version, sent in the Server header.
const Version = "0.1.0"

// ServerHeader is the Server header's value.
const ServerHeader = "imagegw/" + Version

// serverHeader is ServerHeader as a header value, shared by every answer
// (net/http only reads it).
var serverHeader = []string{ServerHeader}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyMatrix
	keyRawPath
)

// requestState is what WithRequestID keeps for a request, in one context
// value: its id, and the route template the router matched (SetRoute).
type requestState struct {
	id    string
	route atomic.Pointer[string]
}

// RequestID returns the request's id (set by WithRequestID), or "".
func RequestID(ctx context.Context) string {
	if st, ok := ctx.Value(keyRequestID).(*requestState); ok {
		return st.id
	}
	return ""
}

// SetRoute notes the route template that serves the request (for the
// metrics), if the request went through WithRequestID.
func SetRoute(ctx context.Context, template string) {
	if st, ok := ctx.Value(keyRequestID).(*requestState); ok {
		st.route.Store(&template)
	}
}

// Route returns the template SetRoute noted, or "".
func Route(ctx context.Context) string {
	if st, ok := ctx.Value(keyRequestID).(*requestState); ok {
		if p := st.route.Load(); p != nil {
			return *p
		}
	}
	return ""
}

// WithRequestID gives every request a new UUID, in its context and in the
// Request-Id response header, and sets the Server header.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &requestState{id: uuid.NewString()}
		h := w.Header()
		h["Request-Id"] = []string{st.id}
		h["Server"] = serverHeader
		ctx, end := gateway.WithCallTrace(context.WithValue(r.Context(), keyRequestID, st))
		defer end()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// LogCloudError logs, at warn, why a request is answered status 502, 503 or
// 504: the cloud's error (its code and the raw cause, which the client does
// not see) with the request id and the cloud call that failed (driver,
// provider, operation). It reports whether status was one of those.
func LogCloudError(log *slog.Logger, r *http.Request, status int, err error) bool {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return false
	}
	attrs := []slog.Attr{slog.String("request_id", RequestID(r.Context())), slog.Int("status", status)}
	if c, ok := gateway.LastCall(r.Context()); ok {
		attrs = append(attrs, slog.String("driver", c.Driver), slog.String("provider", c.Provider), slog.String("operation", c.Operation))
	}
	cause := "none"
	if err != nil {
		cause = err.Error()
	}
	attrs = append(attrs, slog.String("code", model.CodeOf(err).String()), slog.String("cause", cause))
	log.LogAttrs(r.Context(), slog.LevelWarn, "cloud error", attrs...)
	return true
}

// StatusRecorder remembers the status and size a handler wrote.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
	Bytes  int64
}

// WriteHeader records the status.
func (s *StatusRecorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write records the size.
func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Logging writes one structured access-log line per request.
func Logging(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &StatusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if rec.Status == 0 {
				rec.Status = http.StatusOK
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", RequestID(r.Context())),
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.Status), slog.Int64("bytes", rec.Bytes),
				slog.Duration("duration", time.Since(start)))
		})
	}
}

// PanicWriter writes a front's own 500 answer after a panic.
type PanicWriter func(w http.ResponseWriter, r *http.Request)

// Recover turns a panic in next into a logged stack and a 500 written by
// onPanic (or plain text), so no panic reaches a client as a dropped
// connection. http.ErrAbortHandler is re-raised, as net/http expects.
func Recover(log *slog.Logger, onPanic PanicWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic serving request", "request_id", RequestID(r.Context()),
					"method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if onPanic != nil {
					onPanic(w, r)
					return
				}
				http.Error(w, "internal error, request id "+RequestID(r.Context()), http.StatusInternalServerError)
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// Matrix holds the matrix parameters of a path, by the segment that
// carried them: "/api;driver=ec2/images;instance_id=i1" gives
// {"api": {"driver": "ec2"}, "images": {"instance_id": "i1"}}.
type Matrix map[string]map[string]string

// Get returns the parameter name of segment seg, or "".
func (m Matrix) Get(seg, name string) string { return m[seg][name] }

// MatrixOf returns the matrix parameters StripMatrix took off the request.
func MatrixOf(ctx context.Context) Matrix {
	m, _ := ctx.Value(keyMatrix).(Matrix)
	return m
}

// RawPath returns the request's path and query exactly as received, before
// StripMatrix rewrote the path.
func RawPath(r *http.Request) string {
	if s, ok := r.Context().Value(keyRawPath).(string); ok {
		return s
	}
	return r.URL.RequestURI()
}

// ParseMatrix splits matrix parameters off each segment of path. A
// parameter without a name or without "=" is an error.
func ParseMatrix(path string) (string, Matrix, error) {
	if !strings.Contains(path, ";") {
		return path, nil, nil
	}
	segs := strings.Split(path, "/")
	m := Matrix{}
	for i, seg := range segs {
		name, params, found := strings.Cut(seg, ";")
		if !found {
			continue
		}
		segs[i] = name
		kv := map[string]string{}
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(p, "=")
			if !ok || k == "" {
				return "", nil, fmt.Errorf("malformed matrix parameters %q in path segment %q", ";"+params, seg)
			}
			kv[strings.ToLower(k)] = v
		}
		m[name] = kv
	}
	return strings.Join(segs, "/"), m, nil
}

// StripMatrix removes matrix parameters from the request path before
// routing and keeps them in the context. onError answers a malformed path.
func StripMatrix(onError func(w http.ResponseWriter, r *http.Request, err error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.URL.Path
			if r.URL.RawPath != "" {
				p = r.URL.RawPath
			}
			clean, m, err := ParseMatrix(p)
			if m == nil && err == nil {
				next.ServeHTTP(w, r) // nothing to take off: RawPath is the URL's
				return
			}
			ctx := context.WithValue(r.Context(), keyRawPath, r.URL.RequestURI())
			if err != nil {
				onError(w, r.WithContext(ctx), err)
				return
			}
			// clean is still escaped: decode it as net/http decodes a path
			// without matrix parameters, so ids route alike
			dec, err := url.PathUnescape(clean)
			if err != nil {
				onError(w, r.WithContext(ctx), err)
				return
			}
			r2 := r.Clone(context.WithValue(ctx, keyMatrix, m))
			r2.URL.Path = dec
			r2.URL.RawPath = ""
			if dec != clean {
				r2.URL.RawPath = clean
			}
			next.ServeHTTP(w, r2)
		})
	}
}

// Send writes a 200 or 201 body; see Answers.Send (Send caches nothing).
func Send(w http.ResponseWriter, r *http.Request, status int, contentType string, write func(io.Writer) error) error {
	var a *Answers
	return a.Send(w, r, Body{Status: status, ContentType: contentType, Write: write})
}

// ETagMatches reports whether an If-None-Match header value (a list of
// tags, or "*") matches etag.
func ETagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// LimitBody caps the request body at n bytes: a declared larger length
// is refused at once through tooLarge, and reads past n fail with
// *http.MaxBytesError.
func LimitBody(n int64, tooLarge func(w http.ResponseWriter, r *http.Request)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				tooLarge(w, r)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}
