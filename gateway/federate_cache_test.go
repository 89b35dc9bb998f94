package gateway

import (
	"fmt"
	"testing"
	"time"
)

// The merged-order cache answers only for the snapshots it merged, keeps
// one merge per query, forgets after mergedCacheAge and holds at most
// mergedCacheSize queries (each pins the snapshots it points into).
func TestMergedCache(t *testing.T) {
	var c mergedCache
	t0 := time.Unix(1_700_000_000, 0)
	one := []FederatedImage{{Provider: "a"}}
	c.put("q", "a:1,", one, t0)
	tests := []struct {
		name     string
		query    string
		gen      string
		at       time.Time
		wantKept bool
	}{
		{"same snapshots", "q", "a:1,", t0.Add(time.Second), true},
		{"another snapshot", "q", "a:2,", t0.Add(time.Second), false},
		{"another query", "q2", "a:1,", t0.Add(time.Second), false},
		{"too old", "q", "a:1,", t0.Add(mergedCacheAge + time.Second), false},
	}
	for _, tc := range tests {
		if _, ok := c.get(tc.query, tc.gen, tc.at); ok != tc.wantKept {
			t.Errorf("%s: kept %v, want %v", tc.name, ok, tc.wantKept)
		}
	}
	c.put("q", "a:2,", one, t0.Add(2*time.Second)) // a newer merge replaces the old
	if _, ok := c.get("q", "a:1,", t0.Add(2*time.Second)); ok {
		t.Error("the older merge of q is still answered")
	}
	for i := range 2 * mergedCacheSize {
		c.put(fmt.Sprintf("q%d", i), "a:1,", one, t0.Add(3*time.Second))
	}
	if len(c.m) != mergedCacheSize || len(c.order) != mergedCacheSize {
		t.Errorf("%d merges kept (%d ordered), want at most %d", len(c.m), len(c.order), mergedCacheSize)
	}
}
