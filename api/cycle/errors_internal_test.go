package cycle

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/imagegw/imagegw/model"
)

// TestErrorRows: the gateway's codes that a mock hub cannot produce on
// demand answer the error table's statuses, in the documented envelope.
func TestErrorRows(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDoc)
	if err != nil {
		t.Fatal(err)
	}
	schema := doc.Components.Schemas["ErrorEnvelope"].Value
	throttled := model.Errorf(model.ResourceExhausted, "slow down")
	throttled.RetryAfter = 3 * time.Second
	for _, tc := range []struct {
		err    error
		status int
		code   string
		retry  string
	}{
		{throttled, 429, "429.rate-limiting", "3"},
		{model.Errorf(model.Internal, "bug"), 500, "500.unknown", ""},
		{errors.New("no code"), 500, "500.unknown", ""},
		{model.Errorf(model.Unavailable, "down"), 503, "503.not-ready", ""},
		{model.Errorf(model.DeadlineExceeded, "slow"), 504, "504.not-available", ""},
		{model.Errorf(model.Unimplemented, "no"), 422, "422.not-compatible", ""},
		{model.Errorf(model.FailedPrecondition, "no"), 422, "422.not-compatible", ""},
		{model.Errorf(model.InvalidArgument, "bad"), 422, "422.invalid-argument", ""},
		{model.Errorf(model.NotFound, "gone"), 404, "404.uri", ""},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/v1/images", nil)
		c := (&Front{log: slog.New(slog.DiscardHandler)}).newCall(w, r)
		c.fail(tc.err)
		var body struct {
			Error struct {
				Status int
				Code   string
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != tc.status || body.Error.Code != tc.code || body.Error.Status != tc.status {
			t.Errorf("%v: %d %s", tc.err, w.Code, w.Body)
		}
		if got := w.Header().Get("Retry-After"); got != tc.retry {
			t.Errorf("%v: Retry-After %q", tc.err, got)
		}
		var v any
		_ = json.Unmarshal(w.Body.Bytes(), &v)
		if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("%v: not an ErrorEnvelope: %v", tc.err, err)
		}
		if w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%v: Content-Type %q", tc.err, w.Header().Get("Content-Type"))
		}
	}
}
