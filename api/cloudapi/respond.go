package cloudapi

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/api/cloudapi/apiversion"
	"github.com/imagegw/imagegw/api/cloudapi/httpsig"
	"github.com/imagegw/imagegw/model"
)

// corsHeaders are the request headers browsers may send.
const corsHeaders = "Accept, Accept-Version, Content-Length, Content-MD5, Content-Type, Date, Api-Version, Response-Time"

// apiError is an answer in CloudAPI's {code, message} envelope.
type apiError struct {
	Status  int          `json:"-"`
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Errors  []fieldError `json:"errors,omitempty"`
	// RetryAfter sets Retry-After on 429.
	RetryAfter time.Duration `json:"-"`
}

// fieldError is one validation failure.
type fieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newErr(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

func missingParam(name string) *apiError {
	return newErr(http.StatusConflict, "MissingParameter", name+" is a required argument")
}

func invalidArg(msg string) *apiError {
	return newErr(http.StatusConflict, "InvalidArgument", msg)
}

func notFound(msg string) *apiError {
	return newErr(http.StatusNotFound, "ResourceNotFound", msg)
}

// toAPIError maps any error to the envelope: the model codes as the spec's
// error table says, signature and version errors by their own codes.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var se *httpsig.Error
	if errors.As(err, &se) {
		return newErr(se.Status(), se.Code, se.Message)
	}
	var ve *apiversion.Error
	if errors.As(err, &ve) {
		return newErr(http.StatusBadRequest, "InvalidVersion", ve.Message)
	}
	var me *http.MaxBytesError
	if errors.As(err, &me) {
		return newErr(http.StatusRequestEntityTooLarge, "RequestTooLarge", "request body is larger than "+strconv.FormatInt(MaxBody, 10)+" bytes")
	}
	msg := model.MessageOf(err)
	var out *apiError
	switch model.CodeOf(err) {
	case model.NotFound:
		out = notFound(msg)
	case model.InvalidArgument, model.FailedPrecondition, model.AlreadyExists:
		out = invalidArg(msg)
	case model.Unauthenticated:
		// The client proved who it is; the cloud refused the account's
		// stored credentials: a gateway configuration fault.
		out = newErr(http.StatusInternalServerError, "InternalError", "the cloud rejected the account's credentials: "+msg)
	case model.PermissionDenied:
		out = newErr(http.StatusForbidden, "NotAuthorized", msg)
	case model.Unimplemented:
		out = newErr(http.StatusNotImplemented, "NotImplemented", msg)
	case model.ResourceExhausted:
		out = newErr(http.StatusTooManyRequests, "RequestThrottled", msg)
		out.RetryAfter = model.RetryAfterOf(err)
	case model.Unavailable, model.DeadlineExceeded:
		out = newErr(http.StatusServiceUnavailable, "ServiceUnavailable", msg)
		out.RetryAfter = model.RetryAfterOf(err)
	default:
		out = newErr(http.StatusInternalServerError, "InternalError", msg)
	}
	var e *model.Error
	if errors.As(err, &e) && e.InjectedStatus != 0 {
		out.Status = e.InjectedStatus
	}
	return out
}

// setTiming sets Response-Time, just before the status is written.
func (c *call) setTiming() {
	ms := time.Since(c.start).Milliseconds()
	c.w.Header().Set("Response-Time", strconv.FormatInt(ms, 10))
}

// send writes a JSON body produced by write with an exact Content-Length,
// Content-MD5 and ETag (see api.Answers.Send).
func (c *call) send(status int, write func(io.Writer) error) error {
	return c.sendKeyed(status, "", write)
}

// sendKeyed is send for an answer named by key: one already encoded is
// sent again without rendering.
func (c *call) sendKeyed(status int, key string, write func(io.Writer) error) error {
	return c.f.answers.Send(c.w, c.r, api.Body{Status: status, ContentType: "application/json", Key: key,
		ContentMD5: true, Header: func(http.Header) { c.setTiming() }, Write: write})
}

// sendJSON sends v as JSON.
func (c *call) sendJSON(status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.send(status, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// sendList sends items as a JSON array ("[]" when empty), marshalling one
// item at a time.
func sendList[T any](c *call, items []T) error {
	return c.send(http.StatusOK, func(w io.Writer) error { return writeList(w, items) })
}

// writeList writes items as a JSON array ("[]" when empty), marshalling
// one item at a time.
func writeList[T any](w io.Writer, items []T) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString("[")
	for i := range items {
		if i > 0 {
			bw.WriteString(",")
		}
		b, err := json.Marshal(items[i])
		if err != nil {
			return err
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	bw.WriteString("]")
	return bw.Flush()
}

// sendEmpty answers 204 (or another status) without a body.
func (c *call) sendEmpty(status int) {
	c.setTiming()
	c.w.WriteHeader(status)
}

// fail writes err in the envelope.
func (c *call) fail(err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 && !api.LogCloudError(c.f.log, c.r, ae.Status, err) {
		c.f.log.Error("cloudapi request failed", "method", c.r.Method, "path", c.r.URL.Path, "code", ae.Code, "err", err)
	}
	if ae.RetryAfter > 0 {
		c.w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ae.RetryAfter.Seconds()))))
	} else if ae.Status == http.StatusTooManyRequests {
		c.w.Header().Set("Retry-After", "1")
	}
	_ = c.sendJSON(ae.Status, ae)
}

// commonHeaders sets what every answer carries.
func (c *call) commonHeaders(methods string) {
	h := c.w.Header()
	h.Set("Api-Version", apiversion.Served)
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Allow-Methods", methods)
	h.Set("Access-Control-Expose-Headers", "Api-Version, Request-Id, Response-Time")
	if h.Get("Date") == "" {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	if h.Get("Server") == "" {
		h.Set("Server", "imagegw")
	}
}

// allowList is the Allow value of a route.
func allowList(methods []string) string { return strings.Join(methods, ", ") }
