package cloudapi

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

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

// hashWriter counts, hashes and (up to bufLimit) keeps what is written.
type hashWriter struct {
	h        hash.Hash
	n        int64
	buf      bytes.Buffer
	overflow bool
}

// bufLimit is how much of a body is held in memory; larger bodies are
// produced twice (once to hash, once to stream) so memory does not grow
// with a list.
const bufLimit = 256 << 10

func (w *hashWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n += int64(len(p))
	if !w.overflow {
		if w.buf.Len()+len(p) > bufLimit {
			w.overflow = true
			w.buf = bytes.Buffer{}
		} else {
			w.buf.Write(p)
		}
	}
	return len(p), nil
}

// setTiming sets Response-Time, just before the status is written.
func (c *call) setTiming() {
	ms := time.Since(c.start).Milliseconds()
	c.w.Header().Set("Response-Time", strconv.FormatInt(ms, 10))
}

// send writes a JSON body produced by write with an exact Content-Length
// and Content-MD5. write must produce the same bytes each time.
func (c *call) send(status int, write func(io.Writer) error) error {
	hw := &hashWriter{h: md5.New()}
	if err := write(hw); err != nil {
		return err
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.FormatInt(hw.n, 10))
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(hw.h.Sum(nil)))
	c.setTiming()
	c.w.WriteHeader(status)
	if c.r.Method == http.MethodHead {
		return nil
	}
	if !hw.overflow {
		_, err := c.w.Write(hw.buf.Bytes())
		return err
	}
	return write(c.w)
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
	return c.send(http.StatusOK, func(w io.Writer) error {
		if _, err := io.WriteString(w, "["); err != nil {
			return err
		}
		for i := range items {
			if i > 0 {
				if _, err := io.WriteString(w, ","); err != nil {
					return err
				}
			}
			b, err := json.Marshal(items[i])
			if err != nil {
				return err
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "]")
		return err
	})
}

// sendEmpty answers 204 (or another status) without a body.
func (c *call) sendEmpty(status int) {
	c.setTiming()
	c.w.WriteHeader(status)
}

// fail writes err in the envelope.
func (c *call) fail(err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 {
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
