package openstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/imagegw/imagegw/model"
)

// mapError turns an error from gophercloud (or the HTTP stack under it) into
// a *model.Error, once, with a client-safe message built from what; the raw
// error stays the cause. It returns nil for nil and leaves *model.Error alone.
func mapError(err error, what string, args ...any) error {
	if err == nil {
		return nil
	}
	var me *model.Error
	if errors.As(err, &me) {
		return err
	}
	msg := fmt.Sprintf(what, args...)
	var reauth gophercloud.ErrUnableToReauthenticate
	if errors.As(err, &reauth) && reauth.ErrReauth != nil {
		// The token expired and getting a new one failed: the new failure is
		// what the client needs to see (a changed password is a 401).
		err = reauth.ErrReauth
	}
	var rc gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &rc) {
		return fromStatus(rc.Actual, rc.ResponseHeader, err, msg)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return model.Wrap(model.Canceled, err, "%s: request canceled", msg)
	case errors.Is(err, context.DeadlineExceeded):
		return model.Wrap(model.DeadlineExceeded, err, "%s: the cloud did not answer in time", msg)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return model.Wrap(model.DeadlineExceeded, err, "%s: the cloud did not answer in time", msg)
	}
	var timeout gophercloud.ErrTimeOut
	if errors.As(err, &timeout) {
		return model.Wrap(model.DeadlineExceeded, err, "%s: the cloud did not answer in time", msg)
	}
	var eps *gophercloud.ErrEndpointNotFound
	var ep gophercloud.ErrEndpointNotFound
	var sps *gophercloud.ErrServiceNotFound
	var sp gophercloud.ErrServiceNotFound
	if errors.As(err, &eps) || errors.As(err, &ep) || errors.As(err, &sps) || errors.As(err, &sp) {
		return model.Wrap(model.Unavailable, err, "%s: the service catalog has no such endpoint", msg)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return model.Wrap(model.Unavailable, err, "%s: the cloud is unreachable", msg)
	}
	return model.Wrap(model.Unavailable, err, "%s: %v", msg, err)
}

// fromStatus maps an HTTP status from an OpenStack service to a model code:
// 401 → Unauthenticated, 403 → PermissionDenied, 404 → NotFound,
// 409 → FailedPrecondition, 413/429 → ResourceExhausted (with Retry-After),
// other 4xx → InvalidArgument, 5xx → Unavailable (504 → DeadlineExceeded).
func fromStatus(status int, h http.Header, err error, msg string) error {
	var code model.Code
	switch {
	case status == http.StatusUnauthorized:
		code = model.Unauthenticated
	case status == http.StatusForbidden:
		code = model.PermissionDenied
	case status == http.StatusNotFound:
		code = model.NotFound
	case status == http.StatusConflict:
		code = model.FailedPrecondition
	case status == http.StatusRequestEntityTooLarge || status == http.StatusTooManyRequests:
		e := model.Wrap(model.ResourceExhausted, err, "%s: over limit (HTTP %d)", msg, status)
		e.RetryAfter = retryAfter(h)
		return e
	case status == http.StatusGatewayTimeout:
		code = model.DeadlineExceeded
	case status >= 500:
		e := model.Wrap(model.Unavailable, err, "%s: the cloud failed (HTTP %d)", msg, status)
		e.RetryAfter = retryAfter(h)
		return e
	case status >= 400:
		code = model.InvalidArgument
	default:
		code = model.Unavailable
	}
	return model.Wrap(code, err, "%s: %s (HTTP %d)", msg, http.StatusText(status), status)
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}
