package gateway

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/imagegw/imagegw/model"
)

// FuzzOverlayMeta: whatever tags (JSON) and text fields a front passes,
// the overlay keeps only what fits its limits (at most 128 tags nested at
// most 4 deep, texts of at most 1,024 characters, 32 KiB in all) and says
// InvalidArgument for the rest, never panicking on hostile nesting.
func FuzzOverlayMeta(f *testing.F) {
	f.Add(`{"role":"web"}`, "name", "1.0.0", "https://example.com")
	f.Add(`{"a":{"b":{"c":{"d":{"e":1}}}}}`, "", "", "")
	f.Add(`{"a":[[[[[1]]]]]}`, "", "", "")
	f.Add(`{"":1}`, "", "", "")
	f.Add(`{"x":"`+string(make([]byte, 40000))+`"}`, "", "", "")
	f.Add(`null`, "\xff\xfe", "", "")
	f.Fuzz(func(t *testing.T, tagsJSON, name, version, homepage string) {
		var tags map[string]any
		if json.Unmarshal([]byte(tagsJSON), &tags) != nil {
			return
		}
		var kept model.ImageMeta
		err := metaFor(nil, func(m *model.ImageMeta) {
			m.Tags, m.Version, m.Homepage = tags, version, homepage
			if name != "" {
				m.Name = &name
			}
			kept = *m
		})
		if err != nil {
			if model.CodeOf(err) != model.InvalidArgument {
				t.Fatalf("metaFor: %v, want InvalidArgument", err)
			}
			return
		}
		b, _ := json.Marshal(kept)
		if len(b) > maxMetaBytes || len(kept.Tags) > maxTags {
			t.Fatalf("kept %d bytes, %d tags: over the limits", len(b), len(kept.Tags))
		}
		for k, v := range kept.Tags {
			if d := depth(v); d > maxTagDepth || k == "" {
				t.Fatalf("kept tag %q nested %d deep", k, d)
			}
		}
		for _, s := range []string{name, version, homepage} {
			if utf8.RuneCountInString(s) > maxMetaText {
				t.Fatalf("kept a text of %d characters", utf8.RuneCountInString(s))
			}
		}
	})
}
