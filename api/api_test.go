package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/api"
)

func TestParseMatrix(t *testing.T) {
	tests := []struct {
		in, wantPath string
		want         api.Matrix
		wantErr      bool
	}{
		{"/api/images", "/api/images", nil, false},
		{"/api;driver=ec2;provider=eu-west-1/images", "/api/images", api.Matrix{"api": {"driver": "ec2", "provider": "eu-west-1"}}, false},
		{"/api/images;instance_id=inst1", "/api/images", api.Matrix{"images": {"instance_id": "inst1"}}, false},
		{"/api;DRIVER=mock/images;instance_id=", "/api/images", api.Matrix{"api": {"driver": "mock"}, "images": {"instance_id": ""}}, false},
		{"/api;;;driver", "", nil, true},
		{"/api;driver", "", nil, true},
		{"/api;=x", "", nil, true},
	}
	for _, tc := range tests {
		p, m, err := api.ParseMatrix(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err %v", tc.in, err)
			continue
		}
		if !tc.wantErr && (p != tc.wantPath || !reflect.DeepEqual(m, tc.want)) {
			t.Errorf("%s: %q %v, want %q %v", tc.in, p, m, tc.wantPath, tc.want)
		}
	}
}

func TestETagMatches(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false}, {`"a"`, true}, {`"b", "a"`, true}, {`W/"a"`, true}, {"*", true}, {`"b"`, false}, {`a`, false},
	}
	for _, tc := range tests {
		if got := api.ETagMatches(tc.header, `"a"`); got != tc.want {
			t.Errorf("%q: %v", tc.header, got)
		}
	}
}

// TestSendLargeBody: a body over the buffer limit is hashed in one pass and
// streamed in a second; both the ETag and the bytes must be right.
func TestSendLargeBody(t *testing.T) {
	line := strings.Repeat("x", 99) + "\n"
	write := func(w io.Writer) error {
		for i := range 10000 { // about 1 MB
			if _, err := fmt.Fprint(w, line[:len(line)-len(fmt.Sprint(i))-1], i, "\n"); err != nil {
				return err
			}
		}
		return nil
	}
	var want bytes.Buffer
	write(&want)
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	if err := api.Send(rec, r, 200, "text/plain", write); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Body.Bytes(), want.Bytes()) {
		t.Fatalf("streamed body differs: %d bytes, want %d", rec.Body.Len(), want.Len())
	}
	etag := rec.Header().Get("ETag")
	r.Header.Set("If-None-Match", etag)
	rec2 := httptest.NewRecorder()
	api.Send(rec2, r, 200, "text/plain", write)
	if rec2.Code != http.StatusNotModified || rec2.Body.Len() != 0 {
		t.Errorf("If-None-Match on a large body: %d, %d bytes", rec2.Code, rec2.Body.Len())
	}
}

// failAfter fails once n bytes have gone through.
type failAfter struct {
	http.ResponseWriter
	n int
}

func (f *failAfter) Write(p []byte) (int, error) {
	f.n -= len(p)
	if f.n < 0 {
		return 0, fmt.Errorf("connection reset by peer")
	}
	return f.ResponseWriter.Write(p)
}

// TestSendAbortsOnStreamError: once the status is out, a failing body
// aborts the connection instead of writing an error after it.
func TestSendAbortsOnStreamError(t *testing.T) {
	big := strings.Repeat("y", 17<<20) // past what Send holds whole: it streams
	rec := httptest.NewRecorder()
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", v)
		}
		if rec.Code != 200 {
			t.Errorf("status %d", rec.Code)
		}
	}()
	api.Send(&failAfter{rec, 1000}, httptest.NewRequest("GET", "/", nil), 200, "text/plain", func(w io.Writer) error {
		_, err := io.WriteString(w, big)
		return err
	})
	t.Error("Send returned instead of aborting")
}
