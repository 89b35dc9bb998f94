package deltacloud

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/render"
)

func fmtSscan(s string, f *float64) (int, error) { return fmt.Sscan(s, f) }

// statusOf maps an error to the front's status and symbolic code.
func statusOf(err error) (int, string) {
	var me methodError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &me):
		return http.StatusMethodNotAllowed, "MethodNotAllowed"
	case isNotAcceptable(err):
		return http.StatusNotAcceptable, "NotAcceptable"
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "PayloadTooLarge"
	case errors.Is(err, errUnsupportedMedia):
		return http.StatusUnsupportedMediaType, "UnsupportedMediaType"
	}
	var e *model.Error
	if errors.As(err, &e) && e.InjectedStatus != 0 {
		return e.InjectedStatus, codeForStatus(e.InjectedStatus)
	}
	switch model.CodeOf(err) {
	case model.NotFound:
		return http.StatusNotFound, "NotFound"
	case model.InvalidArgument:
		return http.StatusBadRequest, "BadRequest"
	case model.AlreadyExists, model.FailedPrecondition:
		return http.StatusConflict, "Conflict"
	case model.Unauthenticated:
		return http.StatusUnauthorized, "Unauthorized"
	case model.PermissionDenied:
		return http.StatusForbidden, "Forbidden"
	case model.Unimplemented:
		return http.StatusMethodNotAllowed, "NotSupported"
	case model.ResourceExhausted:
		return http.StatusTooManyRequests, "TooManyRequests"
	case model.Unavailable, model.Canceled:
		return http.StatusBadGateway, "BackendError"
	case model.DeadlineExceeded:
		return http.StatusGatewayTimeout, "GatewayTimeout"
	}
	return http.StatusInternalServerError, "InternalError"
}

func codeForStatus(s int) string {
	switch s {
	case 500:
		return "InternalError"
	case 501:
		return "NotImplemented"
	case 502:
		return "BackendError"
	case 504:
		return "GatewayTimeout"
	}
	return http.StatusText(s)
}

var errUnsupportedMedia = errors.New("unsupported media type")

// fail writes the error envelope in the call's format (XML for 406).
// status, when not zero, overrides the status the error maps to.
func (f *Front) fail(c *call, err error, status int) {
	st, code := statusOf(err)
	if status != 0 {
		st = status
		switch status {
		case http.StatusRequestEntityTooLarge:
			code = "PayloadTooLarge"
		case http.StatusNotAcceptable:
			code = "NotAcceptable"
		case http.StatusBadRequest:
			code = "BadRequest"
		}
	}
	msg := model.MessageOf(err)
	var me methodError
	if errors.As(err, &me) || isNotAcceptable(err) {
		msg = err.Error()
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || st == http.StatusRequestEntityTooLarge {
		msg = "request body is larger than 1 MiB"
	}
	if errors.Is(err, errUnsupportedMedia) {
		msg = err.Error()
	}
	if st == http.StatusInternalServerError {
		f.log.Error("internal error", "request_id", api.RequestID(c.r.Context()), "err", err)
	}
	api.LogCloudError(f.log, c.r, st, err)
	h := c.w.Header()
	h.Del("ETag")
	h.Del("Cache-Control")
	switch st {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Basic realm="imagegw"`)
		if model.CodeOf(err) == model.Unauthenticated && msg != "credentials required" {
			msg = "Authentication failed"
		}
	case http.StatusTooManyRequests:
		secs := int(model.RetryAfterOf(err).Seconds())
		if secs < 1 {
			secs = 1
		}
		h.Set("Retry-After", strconv.Itoa(secs))
	case http.StatusMethodNotAllowed:
		if model.CodeOf(err) == model.Unimplemented {
			h.Set("Allow", "")
		}
	}
	format := c.format
	if st == http.StatusNotAcceptable || c.formatErr != nil {
		format = fmtXML
	}
	url := api.RawPath(c.r)
	var body []byte
	switch format {
	case fmtJSON:
		body = jsonBytes(map[string]any{"error": map[string]any{"status": st, "code": code, "message": msg}})
	case fmtHTML:
		body = htmlBytes(c, fmt.Sprintf("Error %d", st), func(h *render.HTML) {
			h.Raw("<dl>")
			h.Field("status", strconv.Itoa(st))
			h.Field("code", code)
			h.Field("message", msg)
			h.Field("url", url)
			h.Raw("</dl>")
		})
	default:
		body = xmlBytes(func(x *render.XML) {
			x.Start("error", render.A("status", strconv.Itoa(st)), render.A("url", url))
			x.Empty("backend", render.A("driver", c.target.Driver), render.A("provider", c.target.Provider))
			x.Text("code", code)
			x.Text("message", msg)
			x.End()
		})
	}
	h.Set("Content-Type", contentType(format))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(st)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write(body)
	}
}

type bytesWriter struct{ b []byte }

func (w *bytesWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func xmlBytes(fn func(*render.XML)) []byte {
	var w bytesWriter
	x := render.NewXML(&w)
	fn(x)
	_ = x.Close()
	return w.b
}

func jsonBytes(v any) []byte {
	var w bytesWriter
	_ = render.JSON(&w, v)
	return w.b
}

func htmlBytes(c *call, title string, fn func(*render.HTML)) []byte {
	var w bytesWriter
	h := render.NewHTML(&w, title, c.base)
	fn(h)
	_ = h.Close()
	return w.b
}

// send writes a 200/201 body in the call's format, with ETag and 304.
func (c *call) send(status int, xmlFn func(*render.XML), jsonFn func(io.Writer) error, htmlTitle string, htmlFn func(*render.HTML)) error {
	return c.sendKeyed(status, "", xmlFn, jsonFn, htmlTitle, htmlFn)
}

// sendKeyed is send for an answer named by key (see api.Body.Key): one
// already encoded is sent again without rendering.
func (c *call) sendKeyed(status int, key string, xmlFn func(*render.XML), jsonFn func(io.Writer) error, htmlTitle string, htmlFn func(*render.HTML)) error {
	return c.f.answers.Send(c.w, c.r, api.Body{Status: status, ContentType: contentType(c.format), Key: key, Write: func(w io.Writer) error {
		switch c.format {
		case fmtJSON:
			return jsonFn(w)
		case fmtHTML:
			h := render.NewHTML(w, htmlTitle, c.base)
			htmlFn(h)
			return h.Close()
		}
		x := render.NewXML(w)
		xmlFn(x)
		return x.Close()
	}})
}
