// Package configkeys helps configuration decoders name a typo: the keys a
// struct accepts (from its yaml tags) and the known key closest to an
// unknown one.
package configkeys

import (
	"reflect"
	"sort"
	"strings"
)

// Of returns the yaml keys the struct v (or a pointer to one) accepts,
// sorted, following inline fields. Fields tagged "-" are left out.
func Of(v any) []string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	collect(t, &out)
	sort.Strings(out)
	return out
}

func collect(t reflect.Type, out *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collect(ft, out)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		*out = append(*out, name)
	}
}

// Closest returns the known key nearest to key when it is near enough to
// be a typo of it (an edit distance of at most a third of its length, and
// at least 1), else "".
func Closest(key string, known []string) string {
	best, bestD := "", len(key)/3+1
	if bestD < 2 {
		bestD = 2
	}
	for _, k := range known {
		if d := distance(strings.ToLower(key), k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// Describe words an unknown key for an error message: `unknown key
// "regoin" (did you mean region?); known keys: endpoint, region`.
func Describe(key string, known []string) string {
	s := "unknown key \"" + key + "\""
	if c := Closest(key, known); c != "" {
		s += " (did you mean " + c + "?)"
	}
	if len(known) > 0 {
		s += "; known keys: " + strings.Join(known, ", ")
	}
	return s
}

// distance is the Levenshtein distance, with a transposition counted as
// one edit.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
