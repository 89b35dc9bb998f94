package model

import (
	"slices"
	"testing"
)

func TestCompareIDsIsNatural(t *testing.T) {
	ids := []string{"img10", "img5", "img1", "ami-0b", "img05", "img", "img10a", "ami-0a", "img9"}
	slices.SortFunc(ids, CompareIDs)
	want := []string{"ami-0a", "ami-0b", "img", "img1", "img05", "img5", "img9", "img10", "img10a"}
	if !slices.Equal(ids, want) {
		t.Errorf("natural order %v, want %v", ids, want)
	}
	for _, p := range [][2]string{{"img05", "img5"}, {"a", "b"}, {"img2", "img10"}} {
		if CompareIDs(p[0], p[1]) >= 0 || CompareIDs(p[1], p[0]) <= 0 {
			t.Errorf("%q and %q are not strictly ordered", p[0], p[1])
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"CentOS-7-*", "CentOS-7-2009", true}, {"CentOS-7-*", "CentOS-8-1", false},
		{"*", "", true}, {"a*b*c", "abc", true}, {"a*b*c", "acb", false}, {"ab*ba", "aba", false},
		{"exact", "exact", true}, {"exact", "exactly", false}, {"*/ubuntu-*", "ubuntu/images/ubuntu-jammy", true},
	} {
		if got := MatchPattern(tc.pattern, tc.s); got != tc.want {
			t.Errorf("MatchPattern(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}
