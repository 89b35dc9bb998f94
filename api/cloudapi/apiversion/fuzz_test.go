package apiversion

import (
	"errors"
	"net/http"
	"slices"
	"testing"
)

// FuzzNegotiate: any Accept-Version / Api-Version resolves to a supported
// version the range really allows, or fails with an *Error listing them.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "*", "~9||~8", "~7||~8", "~7.2", "8.0.0", "^8", ">=7 <9", "~10", "garbage", "1.x", "7.x || >=9.0.0-rc", "<=8.0.0 >7", " ||| ", "~~9", "9.9999999999999999999"} {
		f.Add(s, "")
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, accept, api string) {
		h := http.Header{}
		if accept != "" {
			h.Set("Accept-Version", accept)
		}
		if api != "" {
			h.Set("Api-Version", api)
		}
		got, err := Negotiate(h)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("Negotiate(%q, %q): %v is not an *Error with a message", accept, api, err)
			}
			return
		}
		if !slices.Contains(Supported, got) {
			t.Fatalf("Negotiate(%q, %q) = %s, not a supported version", accept, api, got)
		}
		want := h.Get("Accept-Version")
		if want == "" {
			want = h.Get("Api-Version")
		}
		r, err := ParseRange(want)
		v, _ := Parse(got)
		if err != nil || !r.Match(v) {
			t.Fatalf("Negotiate(%q) = %s, which the range does not allow (%v)", want, got, err)
		}
	})
}
