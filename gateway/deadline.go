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
	timeout := s.g.requestTimeout(s.Target.Provider)
	if t, ok := (*ctx).Value(traceKey{}).(*CallTrace); ok {
		if c, ok := t.start(*ctx, CallInfo{Driver: s.Target.Driver, Provider: s.Target.Provider, Operation: operation}, timeout); ok {
			*ctx = c
			return noCancel
		}
	}
	if d, ok := (*ctx).Deadline(); ok && time.Until(d) <= timeout {
		return noCancel // an earlier deadline holds (a nested call's, the caller's): nothing to add
	}
	c, cancel := context.WithTimeout(*ctx, timeout)
	*ctx = c
	return cancel
}

func noCancel() {}

// CallInfo names a call into a cloud: which driver and provider, and the
// Session operation ("ListImages").
type CallInfo struct {
	Driver, Provider, Operation string
}

// CallTrace remembers the last cloud call made with a context, so that a
// front logging a 502 or 504 can say which cloud call failed. It also
// holds the request's deadline for its first provider: the Session calls
// of one request into one provider share one request_timeout (from the
// first call), made once, not one per call.
type CallTrace struct {
	mu   sync.Mutex
	last CallInfo
	// parent, provider: what dl was made from; dl, cancel: the deadline.
	parent   context.Context
	provider string
	dl       context.Context
	cancel   context.CancelFunc
	ended    bool // the request was answered: calls make their own deadlines
}

type traceKey struct{}

// WithCallTrace returns ctx with a new, empty CallTrace, and the function
// that ends it (it releases the request's deadline): call it when the
// request is answered.
func WithCallTrace(ctx context.Context) (context.Context, func()) {
	t := &CallTrace{}
	return context.WithValue(ctx, traceKey{}, t), t.end
}

// start notes a call and returns the request's deadline context for it:
// the one made before for the same parent and provider, or a new one when
// the trace holds none yet (ok false: the caller makes its own).
func (t *CallTrace) start(parent context.Context, c CallInfo, timeout time.Duration) (context.Context, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = c
	switch {
	case t.ended:
		return nil, false
	case t.dl != nil && t.parent == parent && t.provider == c.Provider:
		return t.dl, true
	case t.dl != nil:
		return nil, false
	}
	if d, ok := parent.Deadline(); ok && time.Until(d) <= timeout {
		return nil, false // an earlier deadline holds
	}
	t.parent, t.provider = parent, c.Provider
	t.dl, t.cancel = context.WithTimeout(parent, timeout)
	return t.dl, true
}

// end releases the request's deadline: the request was answered. Work
// that outlives its request must not run on the request's context (it
// takes context.WithoutCancel and its own deadline); a call made after
// end gets a deadline of its own.
func (t *CallTrace) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ended = true
	if t.cancel != nil {
		t.cancel()
	}
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
