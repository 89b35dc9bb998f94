package cloudapi

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/imagegw/imagegw/api"
)

// inputs are the query string merged with the body; the body wins.
type inputs map[string]any

// readInputs parses the query and a JSON or form body, checking
// Content-MD5 and the size limit.
func (c *call) readInputs() error {
	c.in = inputs{}
	for k, v := range c.r.URL.Query() {
		if len(v) > 0 {
			c.in[k] = v[len(v)-1]
		}
	}
	if c.r.Body == nil || c.r.Method == http.MethodGet || c.r.Method == http.MethodHead {
		return nil
	}
	if c.r.ContentLength > MaxBody {
		return &http.MaxBytesError{Limit: MaxBody}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, MaxBody))
	if err != nil {
		var me *http.MaxBytesError
		if errors.As(err, &me) {
			return err
		}
		return newErr(http.StatusBadRequest, "InvalidContent", "reading the body: "+err.Error())
	}
	if sum := c.r.Header.Get("Content-MD5"); sum != "" {
		got := md5.Sum(body)
		if sum != base64.StdEncoding.EncodeToString(got[:]) {
			return newErr(http.StatusBadRequest, "BadDigest", "Content-MD5 does not match the body")
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	ct := c.r.Header.Get("Content-Type")
	mt := "application/json"
	if ct != "" {
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return newErr(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "bad Content-Type "+ct)
		}
	}
	switch mt {
	case "application/json":
		var v any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return newErr(http.StatusBadRequest, "InvalidContent", "the body is not a JSON object: "+err.Error())
		}
		m, ok := v.(map[string]any)
		if !ok {
			kind := "a number"
			if _, isNum := v.(json.Number); !isNum {
				kind = api.JSONKind(v)
			}
			return newErr(http.StatusBadRequest, "InvalidContent", `the body must be a JSON object of inputs, such as {"name": "my-image"}, not `+kind)
		}
		for k, v := range m {
			c.in[k] = v
		}
	case "application/x-www-form-urlencoded":
		if msg := api.MislabeledJSON(body, mt); msg != "" {
			return newErr(http.StatusUnsupportedMediaType, "UnsupportedMediaType", msg)
		}
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return newErr(http.StatusBadRequest, "InvalidContent", "malformed form body: "+err.Error())
		}
		for k, v := range vals {
			if len(v) > 0 {
				c.in[k] = v[len(v)-1]
			}
		}
	default:
		if msg := api.MislabeledJSON(body, mt); msg != "" {
			return newErr(http.StatusUnsupportedMediaType, "UnsupportedMediaType", msg)
		}
		return newErr(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "content type "+mt+" is not supported; send application/json")
	}
	return nil
}

// str returns a string input ("" when absent); numbers and booleans are
// given in their JSON text.
func (in inputs) str(name string) string {
	switch v := in[name].(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return fmt.Sprint(v)
	}
	b, _ := json.Marshal(in[name])
	return string(b)
}

// has reports whether an input was given.
func (in inputs) has(name string) bool {
	_, ok := in[name]
	return ok
}

// optStr returns a pointer to a string input, nil when absent.
func (in inputs) optStr(name string) *string {
	if !in.has(name) {
		return nil
	}
	s := in.str(name)
	return &s
}

// strList reads a list of strings: a JSON array, or a comma-separated
// string (forms).
func (in inputs) strList(name string) ([]string, error) {
	switch v := in[name].(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, invalidArg(name + " must be an array of strings")
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return []string{}, nil
		}
		if strings.HasPrefix(strings.TrimSpace(v), "[") {
			var out []string
			if err := json.Unmarshal([]byte(v), &out); err != nil {
				return nil, invalidArg(name + " must be an array of strings")
			}
			return out, nil
		}
		return strings.Split(v, ","), nil
	}
	return nil, invalidArg(name + " must be an array of strings")
}

// object reads a JSON object input (a JSON string in forms).
func (in inputs) object(name string) (map[string]any, error) {
	switch v := in[name].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return v, nil
	case string:
		var out map[string]any
		dec := json.NewDecoder(strings.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			return nil, invalidArg(name + " must be an object")
		}
		return out, nil
	}
	return nil, invalidArg(name + " must be an object")
}
