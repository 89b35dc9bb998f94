package ec2

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/imagegw/imagegw/model"
)

// defaultRetryAfter is the wait suggested to clients after throttling when
// AWS gives no Retry-After header (EC2 never does).
const defaultRetryAfter = 2 * time.Second

// codeByAWS maps AWS error codes to model codes. Codes with a prefix ending
// in "." (InvalidAMIID.) match every code that starts with it.
var codeByAWS = map[string]model.Code{
	"AuthFailure":                 model.Unauthenticated,
	"InvalidClientTokenId":        model.Unauthenticated,
	"SignatureDoesNotMatch":       model.Unauthenticated,
	"UnrecognizedClientException": model.Unauthenticated,
	"MissingAuthenticationToken":  model.Unauthenticated,
	"InvalidAccessKeyId":          model.Unauthenticated,
	"ExpiredToken":                model.Unauthenticated,
	"InvalidToken":                model.Unauthenticated,

	"UnauthorizedOperation": model.PermissionDenied,
	"AccessDenied":          model.PermissionDenied,
	"OptInRequired":         model.PermissionDenied,
	"Blocked":               model.PermissionDenied,

	"InvalidAMIID.":               model.NotFound,
	"InvalidInstanceID.":          model.NotFound,
	"InvalidSnapshot.NotFound":    model.NotFound,
	"InvalidSnapshotID.Malformed": model.NotFound,

	"IncorrectInstanceState":   model.FailedPrecondition,
	"IncorrectState":           model.FailedPrecondition,
	"InvalidSnapshot.InUse":    model.FailedPrecondition,
	"InvalidAMIName.Duplicate": model.AlreadyExists,

	"RequestLimitExceeded":  model.ResourceExhausted,
	"Throttling":            model.ResourceExhausted,
	"ThrottlingException":   model.ResourceExhausted,
	"RequestThrottled":      model.ResourceExhausted,
	"ResourceLimitExceeded": model.ResourceExhausted,
	"AMIQuotaExceeded":      model.ResourceExhausted,

	"InvalidParameter":            model.InvalidArgument,
	"InvalidParameterValue":       model.InvalidArgument,
	"InvalidParameterCombination": model.InvalidArgument,
	"MissingParameter":            model.InvalidArgument,
	"InvalidAMIName.Malformed":    model.InvalidArgument,
	"InvalidUserID.Malformed":     model.InvalidArgument,
	"InvalidFilter":               model.InvalidArgument,
	"InvalidRegion":               model.InvalidArgument,
	"ValidationError":             model.InvalidArgument,

	"UnsupportedOperation": model.Unimplemented,
	"InvalidAction":        model.Unimplemented,

	"InternalError":      model.Unavailable,
	"InternalFailure":    model.Unavailable,
	"ServiceUnavailable": model.Unavailable,
	"Unavailable":        model.Unavailable,
}

func lookupCode(awsCode string) (model.Code, bool) {
	if c, ok := codeByAWS[awsCode]; ok {
		return c, true
	}
	for _, prefix := range []string{"InvalidAMIID.", "InvalidInstanceID."} {
		if strings.HasPrefix(awsCode, prefix) {
			return codeByAWS[prefix], true
		}
	}
	return model.Unknown, false
}

// mapError turns an SDK error into a *model.Error, once: the AWS code and
// request id stay in the message, the raw error is kept as the cause. what
// says what the driver was doing ("listing images"). nil stays nil, and an
// error that already has a model code is returned as is.
func mapError(err error, what string) error {
	if err == nil {
		return nil
	}
	var me *model.Error
	if errors.As(err, &me) {
		return err
	}
	reqID := ""
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		reqID = re.ServiceRequestID()
		status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code, known := lookupCode(api.ErrorCode())
		if !known {
			switch {
			case status >= 500 || api.ErrorFault() == smithy.FaultServer:
				code = model.Unavailable
			case status >= 400:
				code = model.InvalidArgument
			default:
				code = model.Unavailable
			}
		}
		msg := "ec2: " + what + ": " + api.ErrorCode()
		if m := api.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		if reqID != "" {
			msg += " (request id " + reqID + ")"
		}
		e := &model.Error{Code: code, Message: msg, Err: err}
		if code == model.ResourceExhausted || code == model.Unavailable {
			e.RetryAfter = retryAfter(re)
		}
		return e
	}
	switch {
	case errors.Is(err, context.Canceled):
		return model.Wrap(model.Canceled, err, "ec2: %s: request canceled", what)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return model.Wrap(model.DeadlineExceeded, err, "ec2: %s: AWS did not answer in time", what)
	case isQuotaExceeded(err):
		// The SDK stops retrying after a burst of failures. Throttling has an
		// AWS error code (matched above, 429); without one the cloud is down
		// or unreachable: that is an outage, not the client's rate.
		return &model.Error{Code: model.Unavailable, Message: "ec2: " + what + ": AWS is unreachable or failing (retries stopped after repeated failures)", Err: err, RetryAfter: defaultRetryAfter}
	case isCredentialError(err):
		return model.Wrap(model.Unauthenticated, err, "ec2: %s: no AWS credentials: send Basic ACCESS_KEY_ID:SECRET_KEY or configure server-side credentials", what)
	}
	if status >= 500 || status == 0 {
		return &model.Error{Code: model.Unavailable, Message: "ec2: " + what + ": AWS is unreachable or failing", Err: err, RetryAfter: retryAfter(re)}
	}
	return model.Wrap(model.InvalidArgument, err, "ec2: %s: HTTP %d", what, status)
}

// retryAfter reads a Retry-After header in seconds, else the default.
func retryAfter(re *awshttp.ResponseError) time.Duration {
	if re != nil && re.Response != nil && re.Response.Response != nil {
		if v := re.Response.Header.Get("Retry-After"); v != "" {
			if s, err := strconv.Atoi(v); err == nil && s > 0 {
				return time.Duration(s) * time.Second
			}
			if t, err := http.ParseTime(v); err == nil {
				if d := time.Until(t); d > 0 {
					return d
				}
			}
		}
	}
	return defaultRetryAfter
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isQuotaExceeded reports the retryer's own "retry quota exceeded" error,
// which follows a burst of failures of one client (one identity).
func isQuotaExceeded(err error) bool {
	var q ratelimit.QuotaExceededError
	return errors.As(err, &q) || strings.Contains(err.Error(), "retry quota exceeded")
}

// isCredentialError reports a failure of the SDK's credential chain (no
// credentials found anywhere).
func isCredentialError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "get identity:") ||
		strings.Contains(s, "failed to retrieve credentials") ||
		strings.Contains(s, "no EC2 IMDS role found") ||
		strings.Contains(s, "static credentials are empty") ||
		strings.Contains(s, "anonymous credentials")
}
