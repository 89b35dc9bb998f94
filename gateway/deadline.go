package gateway

import (
	"context"
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

// deadline bounds *ctx by the session's provider's request_timeout, so
// that every cloud call the session makes, the SDK's retries and backoff
// included, ends by then (a driver maps the expired context to
// model.DeadlineExceeded: 504). A caller's earlier deadline stays. Use it
// first thing in a Session method:
//
//	defer s.deadline(&ctx)()
func (s *Session) deadline(ctx *context.Context) context.CancelFunc {
	c, cancel := context.WithTimeout(*ctx, s.g.requestTimeout(s.Target.Provider))
	*ctx = c
	return cancel
}
