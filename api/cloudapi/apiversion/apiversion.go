// Package apiversion negotiates the CloudAPI version a client asks for with
// Accept-Version (or Api-Version): node-semver ranges such as "~9||~8",
// "~7||~8", "~7.2", "8.0.0", "^8", ">=7.0.0 <9" and "*".
//
// It implements the subset of node-semver range syntax that CloudAPI
// clients send: "||" alternatives of space-separated comparators, each a
// partial version (with x, X or * wildcards) optionally prefixed by ~, ^,
// =, <, <=, > or >=. Hyphen ranges and prerelease tags are not supported
// and are reported as unparsable.
package apiversion

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Supported are the versions the front answers for, as /--ping lists them.
var Supported = []string{"7.0.0", "7.1.0", "7.2.0", "7.3.0", "8.0.0", "9.0.0"}

// Served is the version every reply has the shape of.
const Served = "9.0.0"

// Version is a parsed major.minor.patch.
type Version [3]int

// Parse parses a full "major.minor.patch" version (a leading "v" or "=" is
// allowed).
func Parse(s string) (Version, error) {
	s = strings.TrimLeft(strings.TrimSpace(s), "v=")
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return Version{}, fmt.Errorf("%q is not a major.minor.patch version", s)
	}
	var v Version
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("%q is not a major.minor.patch version", s)
		}
		v[i] = n
	}
	return v, nil
}

// Compare returns -1, 0 or 1 as a is less than, equal to or greater than b.
func Compare(a, b Version) int {
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

// comparator is one "op version" test.
type comparator struct {
	op string // "<", "<=", ">", ">=", "="
	v  Version
}

func (c comparator) test(v Version) bool {
	d := Compare(v, c.v)
	switch c.op {
	case "<":
		return d < 0
	case "<=":
		return d <= 0
	case ">":
		return d > 0
	case ">=":
		return d >= 0
	}
	return d == 0
}

// Range is a parsed node-semver range.
type Range [][]comparator // alternatives of ANDed comparators

// ParseRange parses a range. The empty string is "*".
func ParseRange(s string) (Range, error) {
	var r Range
	for _, alt := range strings.Split(s, "||") {
		var set []comparator
		for _, tok := range strings.Fields(alt) {
			cs, err := parseComparator(tok)
			if err != nil {
				return nil, fmt.Errorf("bad version range %q: %w", s, err)
			}
			set = append(set, cs...)
		}
		r = append(r, set) // an empty set matches everything ("*")
	}
	return r, nil
}

// Match reports whether v satisfies the range.
func (r Range) Match(v Version) bool {
	for _, set := range r {
		ok := true
		for _, c := range set {
			if !c.test(v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// partial parses "X", "X.Y", "X.Y.Z" with wildcards; n is how many leading
// parts are given (0 for "*").
func partial(s string) (v Version, n int, err error) {
	s = strings.TrimPrefix(s, "v")
	if s == "" {
		return v, 0, fmt.Errorf("empty version")
	}
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return v, 0, fmt.Errorf("%q has too many parts", s)
	}
	for i, p := range parts {
		if p == "x" || p == "X" || p == "*" {
			return v, n, nil // the rest is a wildcard too
		}
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || p != strconv.Itoa(x) {
			return v, 0, fmt.Errorf("%q is not a version", s)
		}
		v[i] = x
		n = i + 1
	}
	return v, n, nil
}

// next returns the smallest version above every version matching the
// first n parts of v.
func next(v Version, n int) Version {
	out := Version{}
	copy(out[:n], v[:n])
	out[n-1]++
	return out
}

func parseComparator(tok string) ([]comparator, error) {
	op := ""
	for _, p := range []string{">=", "<=", ">", "<", "=", "~>", "~", "^"} {
		if strings.HasPrefix(tok, p) {
			op, tok = p, strings.TrimPrefix(tok, p)
			break
		}
	}
	v, n, err := partial(tok)
	if err != nil {
		return nil, err
	}
	if n == 0 { // *, x, ~*, >=* ...
		if op == "<" || op == ">" {
			return []comparator{{"<", Version{}}}, nil // matches nothing
		}
		return nil, nil
	}
	switch op {
	case "~", "~>":
		if n == 1 {
			return []comparator{{">=", v}, {"<", next(v, 1)}}, nil
		}
		return []comparator{{">=", v}, {"<", next(v, 2)}}, nil
	case "^":
		switch {
		case v[0] > 0 || n == 1:
			return []comparator{{">=", v}, {"<", next(v, 1)}}, nil
		case v[1] > 0 || n == 2:
			return []comparator{{">=", v}, {"<", next(v, 2)}}, nil
		default:
			return []comparator{{">=", v}, {"<", next(v, 3)}}, nil
		}
	case ">=":
		return []comparator{{">=", v}}, nil
	case "<":
		return []comparator{{"<", v}}, nil
	case ">":
		if n < 3 {
			return []comparator{{">=", next(v, n)}}, nil
		}
		return []comparator{{">", v}}, nil
	case "<=":
		if n < 3 {
			return []comparator{{"<", next(v, n)}}, nil
		}
		return []comparator{{"<=", v}}, nil
	}
	if n < 3 { // "8" is 8.x, "7.2" is 7.2.x
		return []comparator{{">=", v}, {"<", next(v, n)}}, nil
	}
	return []comparator{{"=", v}}, nil
}

// Error is an unparsable or unsatisfiable range: CloudAPI's InvalidVersion.
type Error struct {
	Range   string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Negotiate reads the requested range (Accept-Version, else Api-Version,
// else "*") and returns the highest supported version it allows, or an
// *Error whose message lists the supported versions.
func Negotiate(h http.Header) (string, error) {
	want := h.Get("Accept-Version")
	if want == "" {
		want = h.Get("Api-Version")
	}
	return Resolve(want)
}

// Resolve returns the highest supported version that range s allows.
func Resolve(s string) (string, error) {
	list := strings.Join(Supported, ", ")
	r, err := ParseRange(s)
	if err != nil {
		return "", &Error{Range: s, Message: fmt.Sprintf("%s; supported versions: %s", err, list)}
	}
	for i := len(Supported) - 1; i >= 0; i-- {
		v, _ := Parse(Supported[i])
		if r.Match(v) {
			return Supported[i], nil
		}
	}
	return "", &Error{Range: s, Message: fmt.Sprintf("%s is not supported by this server; supported versions: %s", s, list)}
}
