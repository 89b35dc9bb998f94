package gateway

import (
	"context"
	"sync"
	"time"
)

// DefaultRequestTimeout bounds one request's work in a provider's cloud
// when its configuration sets no request_timeout.
const DefaultRequestTimeout = 30 * time.Second

// requestTimeout is the bound of provider's cloud work per request.
func (g *Gateway) requestTimeout(provider string) time.Duration {
	if pe, ok := g.providers[provider]; ok && pe.cfg.RequestTimeout > 0 {
		return pe.cfg.RequestTimeout
	}
	return DefaultRequestTimeout
}

// cloudCall starts a Session method's call into the cloud: it bounds *ctx
// by the provider's request_timeout, so that every cloud call the method
// makes, the SDK's retries and backoff included, ends by then (a driver
// maps the expired context to model.DeadlineExceeded: 504; a caller's
// earlier deadline stays), and it notes the call in ctx's CallTrace for
// the logs. Use it first thing in a Session method:
//
//	defer s.cloudCall(&ctx, "GetImage")()
func (s *Session) cloudCall(ctx *context.Context, operation string) context.CancelFunc {
	if t, ok := (*ctx).Value(traceKey{}).(*CallTrace); ok {
		t.set(CallInfo{Driver: s.Target.Driver, Provider: s.Target.Provider, Operation: operation})
	}
	c, cancel := context.WithTimeout(*ctx, s.g.requestTimeout(s.Target.Provider))
	*ctx = c
	return cancel
}

// CallInfo names a call into a cloud: which driver and provider, and the
// Session operation ("ListImages").
type CallInfo struct {
	Driver, Provider, Operation string
}

// CallTrace remembers the last cloud call made with a context, so that a
// front logging a 502 or 504 can say which cloud call failed.
type CallTrace struct {
	mu   sync.Mutex
	last CallInfo
}

type traceKey struct{}

// WithCallTrace returns ctx with a new, empty CallTrace.
func WithCallTrace(ctx context.Context) context.Context {
	return context.WithValue(ctx, traceKey{}, &CallTrace{})
}

// LastCall returns the last cloud call made with ctx (through a Session),
// if ctx has a CallTrace and a call was made.
func LastCall(ctx context.Context) (CallInfo, bool) {
	t, ok := ctx.Value(traceKey{}).(*CallTrace)
	if !ok {
		return CallInfo{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last, t.last != CallInfo{}
}

func (t *CallTrace) set(c CallInfo) {
	t.mu.Lock()
	t.last = c
	t.mu.Unlock()
}
