package ec2

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// connRetryDelay is the wait before retrying an attempt that could not
// reach the cloud (connection refused or reset): a short one, so that a
// cloud that is down answers 502 in well under two seconds even after
// every attempt, instead of after the exponential backoff meant for
// throttling.
const connRetryDelay = 50 * time.Millisecond

// newRetryer returns the retryer of one SDK client: the SDK's adaptive mode
// (standard retries plus client-side rate limiting after throttling) with
// the provider's attempts and backoff, and a short fixed delay after
// connection failures. Each client gets its own, so its retry quota (the
// token bucket that stops retries after a burst of failures) is per
// identity.
func newRetryer(s Settings) aws.Retryer {
	r := retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
		o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
			so.MaxAttempts = s.MaxAttempts
			so.MaxBackoff = s.MaxBackoff
			so.Backoff = retry.NewExponentialJitterBackoff(s.MaxBackoff)
		})
	})
	return connRetryer{r}
}

// connRetryer shortens the delay after connection failures.
type connRetryer struct{ *retry.AdaptiveMode }

// RetryDelay is connRetryDelay after a connection failure, else the
// adaptive mode's backoff.
func (c connRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if isConnFailure(err) {
		return connRetryDelay, nil
	}
	return c.AdaptiveMode.RetryDelay(attempt, err)
}

// isConnFailure reports an attempt that did not get an answer from the
// cloud because the connection was refused, reset or closed (not a
// timeout: a slow cloud keeps its backoff).
func isConnFailure(err error) bool {
	if err == nil || isTimeout(err) {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op)
}
