package cloudapi

import (
	"context"
	"encoding/json"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// nsMeta is the store namespace of the per-image metadata overlay: the
// manifest fields a cloud cannot keep itself.
const nsMeta = "cloudapi_meta"

// imageMeta is what the gateway keeps about an image beyond the cloud.
type imageMeta struct {
	Name        *string        `json:"name,omitempty"`        // when the driver cannot rename
	Description *string        `json:"description,omitempty"` // when the driver cannot keep it
	Version     string         `json:"version,omitempty"`
	Homepage    string         `json:"homepage,omitempty"`
	EULA        string         `json:"eula,omitempty"`
	Tags        map[string]any `json:"tags,omitempty"`
	ACL         []string       `json:"acl,omitempty"`
	// Creator is the login that made the image through the gateway.
	Creator string `json:"creator,omitempty"`
	// Origin is the CloudAPI id of the image this one was cloned from.
	Origin string `json:"origin,omitempty"`
}

type overlay struct{ st store.Store }

func metaKey(driver, provider, id string) string { return driver + "/" + provider + "/" + id }

// get returns an image's overlay (zero when there is none).
func (o *overlay) get(ctx context.Context, driver, provider, id string) (imageMeta, error) {
	var m imageMeta
	b, err := store.Get(ctx, o.st, nsMeta, metaKey(driver, provider, id))
	if model.IsNotFound(err) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

// all returns the overlays of one provider, by native id.
func (o *overlay) all(ctx context.Context, driver, provider string) (map[string]imageMeta, error) {
	out := map[string]imageMeta{}
	prefix := metaKey(driver, provider, "")
	err := o.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(nsMeta, prefix, func(k string, v []byte) error {
			var m imageMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return model.Wrap(model.Internal, err, "corrupt image metadata %s", k)
			}
			out[k[len(prefix):]] = m
			return nil
		})
	})
	return out, err
}

// update changes an image's overlay with fn, in one transaction.
func (o *overlay) update(ctx context.Context, driver, provider, id string, fn func(*imageMeta)) (imageMeta, error) {
	var m imageMeta
	err := o.st.Update(ctx, func(tx store.Tx) error {
		k := metaKey(driver, provider, id)
		m = imageMeta{}
		b, err := tx.Get(nsMeta, k)
		if err == nil {
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
		} else if !model.IsNotFound(err) {
			return err
		}
		fn(&m)
		nb, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return tx.Put(nsMeta, k, nb)
	})
	return m, err
}

// remove drops an image's overlay.
func (o *overlay) remove(ctx context.Context, driver, provider, id string) error {
	err := o.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(nsMeta, metaKey(driver, provider, id)) })
	if model.IsNotFound(err) {
		return nil
	}
	return err
}
