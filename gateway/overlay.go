package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// nsOverlay is the store namespace of the overlay: one model.ImageMeta per
// image, keyed driver/provider/native id.
const nsOverlay = "overlay"

// Namespaces of older versions, migrated by migrateLegacy.
const (
	legacyMeta = "cloudapi_meta"
	legacyIDs  = "cloudapi_ids"
)

// Limits of what the overlay keeps for one image; writes beyond them are
// model.InvalidArgument.
const (
	maxMetaBytes = 32 << 10 // the whole record, as JSON
	maxTagDepth  = 4        // {"a":{"b":[1]}} is depth 3
	maxTags      = 128
	maxMetaText  = 1024 // runes of one string field
)

func overlayKey(driver, provider, id string) string { return driver + "/" + provider + "/" + id }

// validateMeta checks m against the overlay's limits.
func validateMeta(m *model.ImageMeta) error {
	if len(m.Tags) > maxTags {
		return model.Errorf(model.InvalidArgument, "tags: at most %d tags, not %d", maxTags, len(m.Tags))
	}
	for k, v := range m.Tags {
		if k == "" || utf8.RuneCountInString(k) > 128 {
			return model.Errorf(model.InvalidArgument, "tags: a tag name must have 1 to 128 characters")
		}
		if d := depth(v); d > maxTagDepth {
			return model.Errorf(model.InvalidArgument, "tags: tag %q is nested %d deep; at most %d levels are kept", k, d, maxTagDepth)
		}
	}
	texts := map[string]*string{"version": &m.Version, "homepage": &m.Homepage, "eula": &m.EULA, "creator": &m.Creator, "origin": &m.Origin}
	if m.Name != nil {
		texts["name"] = m.Name
	}
	if m.Description != nil {
		texts["description"] = m.Description
	}
	for f, v := range texts {
		if utf8.RuneCountInString(*v) > maxMetaText {
			return model.Errorf(model.InvalidArgument, "%s must be at most %d characters", f, maxMetaText)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return model.Wrap(model.InvalidArgument, err, "image metadata cannot be stored")
	}
	if len(b) > maxMetaBytes {
		return model.Errorf(model.InvalidArgument, "image metadata is %d bytes; at most %d are kept", len(b), maxMetaBytes)
	}
	return nil
}

// depth is how deeply a JSON value nests (a scalar is 0), stopping early
// past the limit so that a hostile value costs little.
func depth(v any) int {
	var walk func(v any, d int) int
	walk = func(v any, d int) int {
		if d > maxTagDepth {
			return d
		}
		best := d
		switch t := v.(type) {
		case map[string]any:
			for _, e := range t {
				best = max(best, walk(e, d+1))
				if best > maxTagDepth {
					break
				}
			}
			if len(t) == 0 {
				best = max(best, d+1)
			}
		case []any:
			for _, e := range t {
				best = max(best, walk(e, d+1))
				if best > maxTagDepth {
					break
				}
			}
			if len(t) == 0 {
				best = max(best, d+1)
			}
		}
		return best
	}
	return walk(v, 0)
}

// loadOverlays reads the overlay of one provider, by native id. A corrupt
// record is logged and skipped: it never fails a list.
func (g *Gateway) loadOverlays(ctx context.Context, driver, provider string) (map[string]*model.ImageMeta, error) {
	out := map[string]*model.ImageMeta{}
	prefix := overlayKey(driver, provider, "")
	err := g.store.View(ctx, func(tx store.Tx) error {
		return tx.Scan(nsOverlay, prefix, func(k string, v []byte) error {
			m := new(model.ImageMeta)
			if err := json.Unmarshal(v, m); err != nil {
				g.log.Warn("skipping corrupt image metadata", "key", k, "err", err)
				return nil
			}
			out[k[len(prefix):]] = m
			return nil
		})
	})
	if err != nil {
		return nil, model.Wrap(model.Internal, err, "reading image metadata")
	}
	return out, nil
}

// loadOverlay reads one image's overlay; nil when it has none or its record
// is corrupt (logged).
func (g *Gateway) loadOverlay(ctx context.Context, driver, provider, id string) (*model.ImageMeta, error) {
	b, err := store.Get(ctx, g.store, nsOverlay, overlayKey(driver, provider, id))
	if model.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, model.Wrap(model.Internal, err, "reading image metadata")
	}
	m := new(model.ImageMeta)
	if err := json.Unmarshal(b, m); err != nil {
		g.log.Warn("skipping corrupt image metadata", "key", overlayKey(driver, provider, id), "err", err)
		return nil, nil
	}
	return m, nil
}

// putOverlay changes an image's overlay with fn in tx, validating the
// result; an empty result removes the record.
func putOverlay(tx store.Tx, driver, provider, id string, fn func(*model.ImageMeta)) (*model.ImageMeta, error) {
	k := overlayKey(driver, provider, id)
	m := new(model.ImageMeta)
	if b, err := tx.Get(nsOverlay, k); err == nil {
		if json.Unmarshal(b, m) != nil {
			*m = model.ImageMeta{} // a corrupt record is replaced
		}
	} else if !model.IsNotFound(err) {
		return nil, err
	}
	fn(m)
	if err := validateMeta(m); err != nil {
		return nil, err
	}
	if m.Empty() {
		if err := tx.Delete(nsOverlay, k); err != nil && !model.IsNotFound(err) {
			return nil, err
		}
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return m, tx.Put(nsOverlay, k, b)
}

// applyMeta returns img with its overlay applied.
func applyMeta(img model.Image, m *model.ImageMeta) model.Image {
	img.Meta = m
	if m == nil {
		return img
	}
	if m.Name != nil {
		img.Name = *m.Name
	}
	if m.Description != nil {
		img.Description = *m.Description
	}
	return img
}

// migrateLegacy moves the CloudAPI front's old overlay (cloudapi_meta) and
// id mappings (cloudapi_ids) into the gateway's namespaces, once: records
// are moved, not copied, so a second start finds nothing to do.
func (g *Gateway) migrateLegacy(ctx context.Context) error {
	moved := 0
	err := g.store.Update(ctx, func(tx store.Tx) error {
		type kv struct{ k, v string }
		var metas, idm []kv
		if err := tx.Scan(legacyMeta, "", func(k string, v []byte) error {
			metas = append(metas, kv{k, string(v)})
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Scan(legacyIDs, "", func(k string, v []byte) error {
			idm = append(idm, kv{k, string(v)})
			return nil
		}); err != nil {
			return err
		}
		for _, e := range metas {
			var m model.ImageMeta
			if json.Unmarshal([]byte(e.v), &m) != nil || validateMeta(&m) != nil {
				g.log.Warn("dropping corrupt legacy image metadata", "key", e.k)
			} else if _, err := tx.Get(nsOverlay, e.k); model.IsNotFound(err) {
				if err := tx.Put(nsOverlay, e.k, []byte(e.v)); err != nil {
					return err
				}
			}
			if err := tx.Delete(legacyMeta, e.k); err != nil {
				return err
			}
			moved++
		}
		for _, e := range idm {
			// driver/provider/kind/uuid → native
			if strings.Count(e.k, "/") >= 3 {
				if err := tx.Put(nsIDs, string(SchemeUUID)+"/"+e.k, []byte(e.v)); err != nil {
					return err
				}
			}
			if err := tx.Delete(legacyIDs, e.k); err != nil {
				return err
			}
			moved++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrating image metadata: %w", err)
	}
	if moved > 0 {
		g.log.Info("migrated legacy CloudAPI metadata and id mappings into the gateway's overlay", "records", moved)
	}
	return nil
}
