package triton

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	tritonerrors "github.com/joyent/triton-go/errors"

	"github.com/imagegw/imagegw/model"
)

// defaultRetryAfter is the wait suggested after throttling when CloudAPI
// gives no Retry-After header.
const defaultRetryAfter = 2 * time.Second

// codeByCloudAPI maps CloudAPI's error codes (restify's and CloudAPI's
// own) to model codes.
var codeByCloudAPI = map[string]model.Code{
	"ResourceNotFound": model.NotFound,
	"NotFound":         model.NotFound,

	"InvalidCredentials": model.Unauthenticated,
	"InvalidSignature":   model.Unauthenticated,
	"InvalidKeyId":       model.Unauthenticated,
	"InvalidAuthToken":   model.Unauthenticated,
	"AuthScheme":         model.Unauthenticated,
	"Unauthorized":       model.Unauthenticated,

	"NotAuthorized": model.PermissionDenied,
	"Forbidden":     model.PermissionDenied,

	"RequestThrottled":   model.ResourceExhausted,
	"TooManyRequests":    model.ResourceExhausted,
	"QuotaExceeded":      model.ResourceExhausted,
	"RequestTooLarge":    model.InvalidArgument,
	"InvalidArgument":    model.InvalidArgument,
	"MissingParameter":   model.InvalidArgument,
	"InvalidParameter":   model.InvalidArgument,
	"ValidationFailed":   model.InvalidArgument,
	"InvalidContent":     model.InvalidArgument,
	"InvalidHeader":      model.InvalidArgument,
	"InvalidVersion":     model.InvalidArgument,
	"BadRequest":         model.InvalidArgument,
	"BadDigest":          model.InvalidArgument,
	"UnsupportedMedia":   model.InvalidArgument,
	"PreconditionFailed": model.FailedPrecondition,

	"InUseError":             model.FailedPrecondition,
	"ImageUuidAlreadyExists": model.AlreadyExists,
	"Conflict":               model.AlreadyExists,

	"NotImplemented": model.Unimplemented,
	"BadMethod":      model.Unimplemented,

	"InternalError":      model.Unavailable,
	"ServiceUnavailable": model.Unavailable,
	"BadGateway":         model.Unavailable,
}

// record is what the transport saw of a call's last response: CloudAPI's
// errors (triton-go's APIError) keep neither headers nor request id.
type record struct {
	status     int
	requestID  string
	retryAfter string
}

type recordKey struct{}

// recordingTransport notes the status, Request-Id and Retry-After of each
// response in the request context's *record.
type recordingTransport struct{ base http.RoundTripper }

func (t recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(r)
	if rec, ok := r.Context().Value(recordKey{}).(*record); ok && res != nil {
		rec.status = res.StatusCode
		rec.requestID = res.Header.Get("Request-Id")
		rec.retryAfter = res.Header.Get("Retry-After")
	}
	return res, err
}

// apiError finds triton-go's APIError in err's chain. triton-go wraps with
// github.com/pkg/errors v0.8, whose wrappers have Cause but not Unwrap.
func apiError(err error) (*tritonerrors.APIError, bool) {
	for e := err; e != nil; {
		switch v := e.(type) {
		case *tritonerrors.APIError:
			return v, true
		case tritonerrors.APIError:
			return &v, true
		}
		if c, ok := e.(interface{ Cause() error }); ok && c.Cause() != e {
			e = c.Cause()
			continue
		}
		e = errors.Unwrap(e)
	}
	return nil, false
}

// causeIs is errors.Is through pkg/errors' Cause chains too.
func causeIs(err, target error) bool {
	for e := err; e != nil; {
		if errors.Is(e, target) {
			return true
		}
		c, ok := e.(interface{ Cause() error })
		if !ok || c.Cause() == e {
			return false
		}
		e = c.Cause()
	}
	return false
}

// mapError turns a CloudAPI or transport error into a *model.Error, once:
// the CloudAPI code and request id stay in the message, the raw error is
// kept as the cause. nil stays nil, and an error that already has a model
// code is returned as is.
func mapError(err error, what string, rec *record) error {
	if err == nil {
		return nil
	}
	var me *model.Error
	if errors.As(err, &me) {
		return err
	}
	if rec == nil {
		rec = &record{}
	}
	suffix := ""
	if rec.requestID != "" {
		suffix = " (request id " + rec.requestID + ")"
	}
	if ae, ok := apiError(err); ok {
		status := ae.StatusCode
		code, known := codeByCloudAPI[ae.Code]
		if !known {
			code = byStatus(status)
		}
		msg := "triton: " + what + ": "
		if ae.Code != "" {
			msg += ae.Code + ": "
		}
		msg += ae.Message + suffix
		e := &model.Error{Code: code, Message: msg, Err: err}
		if code == model.ResourceExhausted || code == model.Unavailable {
			e.RetryAfter = retryAfter(rec.retryAfter)
		}
		return e
	}
	switch {
	case causeIs(err, context.Canceled):
		return model.Wrap(model.Canceled, err, "triton: %s: request canceled", what)
	case causeIs(err, context.DeadlineExceeded) || isTimeout(err):
		return model.Wrap(model.DeadlineExceeded, err, "triton: %s: CloudAPI did not answer in time", what)
	}
	if rec.status >= 400 {
		// an error answer triton-go could not decode (not JSON)
		e := &model.Error{Code: byStatus(rec.status), Message: "triton: " + what + ": HTTP " + strconv.Itoa(rec.status) + suffix, Err: err}
		if e.Code == model.ResourceExhausted || e.Code == model.Unavailable {
			e.RetryAfter = retryAfter(rec.retryAfter)
		}
		return e
	}
	if strings.Contains(err.Error(), "unable to sign") || strings.Contains(err.Error(), "ssh agent") {
		return model.Wrap(model.Unavailable, err, "triton: %s: cannot sign the request: %v", what, err)
	}
	if rec.status == 0 {
		return &model.Error{Code: model.Unavailable, Message: "triton: " + what + ": CloudAPI is unreachable: " + err.Error(), Err: err, RetryAfter: defaultRetryAfter}
	}
	// a 2xx answer whose body did not decode
	return model.Wrap(model.Unavailable, err, "triton: %s: unexpected answer: %v%s", what, err, suffix)
}

// byStatus is the code of an HTTP status without a known CloudAPI code.
func byStatus(status int) model.Code {
	switch {
	case status == http.StatusNotFound, status == http.StatusGone:
		return model.NotFound
	case status == http.StatusUnauthorized:
		return model.Unauthenticated
	case status == http.StatusForbidden:
		return model.PermissionDenied
	case status == http.StatusTooManyRequests:
		return model.ResourceExhausted
	case status == http.StatusNotImplemented:
		return model.Unimplemented
	case status == http.StatusConflict, status == http.StatusPreconditionFailed:
		return model.FailedPrecondition
	case status == http.StatusGatewayTimeout:
		return model.DeadlineExceeded
	case status >= 500:
		return model.Unavailable
	}
	return model.InvalidArgument
}

// retryAfter reads a Retry-After value (seconds or an HTTP date), else the
// default.
func retryAfter(v string) time.Duration {
	if v != "" {
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := time.Until(t); d > 0 {
				return d
			}
		}
	}
	return defaultRetryAfter
}

func isTimeout(err error) bool {
	for e := err; e != nil; {
		var ne net.Error
		if errors.As(e, &ne) && ne.Timeout() {
			return true
		}
		c, ok := e.(interface{ Cause() error })
		if !ok || c.Cause() == e {
			return false
		}
		e = c.Cause()
	}
	return false
}
