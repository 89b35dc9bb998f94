package apiversion

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means InvalidVersion
	}{
		{"~9||~8", "9.0.0"}, // triton
		{"~7||~8", "8.0.0"}, // smartdc
		{"~7.2", "7.2.0"},   // smartdc, older
		{"8.0.0", "8.0.0"},
		{"*", "9.0.0"},
		{"", "9.0.0"},
		{"x", "9.0.0"},
		{"7.x", "7.3.0"},
		{"~7", "7.3.0"},
		{"^7.1", "7.3.0"},
		{">=7.0.0 <8", "7.3.0"},
		{">8", "9.0.0"},
		{"<=7.1", "7.1.0"},
		{"~9 || ~10", "9.0.0"},
		{"=9.0.0", "9.0.0"},
		{"~10", ""},
		{"10.0.0", ""},
		{"~6", ""},
		{"7.4.0", ""},
		{">9.0.0", ""},
		{"<7", ""},
		{"banana", ""},
		{"~9.x.1.2", ""},
		{"1.2.3-4", ""},
		{"07.0.0", ""},
	} {
		got, err := Resolve(tc.in)
		if tc.want == "" {
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(e.Message, "7.0.0, 7.1.0, 7.2.0, 7.3.0, 8.0.0, 9.0.0") {
				t.Errorf("Resolve(%q) = %q, %v; want an InvalidVersion error listing the versions", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNegotiateHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("Api-Version", "~7.2")
	if v, err := Negotiate(h); err != nil || v != "7.2.0" {
		t.Errorf("Api-Version only: %q, %v", v, err)
	}
	h.Set("Accept-Version", "~8") // wins over Api-Version
	if v, err := Negotiate(h); err != nil || v != "8.0.0" {
		t.Errorf("Accept-Version wins: %q, %v", v, err)
	}
	if v, err := Negotiate(http.Header{}); err != nil || v != "9.0.0" {
		t.Errorf("no header: %q, %v", v, err)
	}
	h.Set("Accept-Version", "~10")
	if _, err := Negotiate(h); err == nil {
		t.Error("~10 accepted")
	}
}

func TestCompare(t *testing.T) {
	a, _ := Parse("1.10.0")
	b, _ := Parse("1.9.9")
	if Compare(a, b) != 1 || Compare(b, a) != -1 || Compare(a, a) != 0 {
		t.Error("Compare is not numeric")
	}
	if _, err := Parse("1.2"); err == nil {
		t.Error("Parse accepted a partial version")
	}
}
