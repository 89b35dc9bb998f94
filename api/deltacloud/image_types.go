package deltacloud

import (
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/render"
)

// The image_types collection (an imagegw extension, docs/api/deltacloud.md):
// the portable image types of the configured tenant (deltacloud:
// native_tenant, default "default"), read-only, each linked to the
// concrete image its mapping names in the request's selected provider.

// DefaultNativeTenant is the tenant whose image types the front shows when
// the configuration names none.
const DefaultNativeTenant = "default"

func (c Config) nativeTenant() string {
	if c.NativeTenant == "" {
		return DefaultNativeTenant
	}
	return c.NativeTenant
}

// imageTypeView is an image type with what its representations need.
type imageTypeView struct {
	t    model.PortableType
	href string
	// res is the type's resolution in the selected provider; resolved is
	// false when the type maps no image there.
	res      gateway.Resolution
	resolved bool
	imgHref  string
}

type imageTypeJSON struct {
	ID          string                   `json:"id"`
	Href        string                   `json:"href"`
	Name        string                   `json:"name"`
	Label       string                   `json:"label,omitempty"`
	Description string                   `json:"description,omitempty"`
	Version     int                      `json:"version"`
	ProviderMap map[string]model.Mapping `json:"providermap"`
	Image       *ref                     `json:"image,omitempty"`
	ImageError  string                   `json:"image_error,omitempty"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// imageTypeView resolves t in the request's provider.
func (c *call) imageTypeView(t model.PortableType) imageTypeView {
	v := imageTypeView{t: t, href: c.href("image_types", t.Name)}
	if _, ok := t.ProviderMap[c.target.Provider]; !ok {
		return v
	}
	_, v.res, _ = c.f.gw.ResolveType(c.r.Context(), c.f.cfg.nativeTenant(), gateway.ImageTypes, t.Name, c.target.Provider)
	v.resolved = true
	if v.res.Err == nil {
		v.imgHref = c.href("images", v.res.Image.ID)
	}
	return v
}

func (v imageTypeView) xml(x *render.XML) {
	x.Start("image_type", render.A("href", v.href), render.A("id", v.t.Name))
	x.Text("name", v.t.Name)
	if v.t.Label != nil {
		x.Text("label", *v.t.Label)
	}
	if v.t.Description != nil {
		x.Text("description", *v.t.Description)
	}
	x.Text("version", strconv.Itoa(v.t.Version))
	x.Start("providers")
	for _, p := range sortedMapKeys(v.t.ProviderMap) {
		m := v.t.ProviderMap[p]
		if m.Rule != nil {
			x.Empty("provider", render.A("name", p), render.A("rule", "newest"))
		} else {
			x.Empty("provider", render.A("name", p), render.A("image", m.Image))
		}
	}
	x.End()
	switch {
	case v.imgHref != "":
		x.Empty("image", render.A("rel", "image"), render.A("id", v.res.Image.ID), render.A("href", v.imgHref))
	case v.resolved:
		x.Text("image_error", model.MessageOf(v.res.Err))
	}
	x.End()
}

func (v imageTypeView) json() imageTypeJSON {
	out := imageTypeJSON{ID: v.t.Name, Href: v.href, Name: v.t.Name, Label: deref(v.t.Label), Description: deref(v.t.Description),
		Version: v.t.Version, ProviderMap: v.t.ProviderMap}
	switch {
	case v.imgHref != "":
		out.Image = &ref{ID: v.res.Image.ID, Href: v.imgHref, Rel: "image"}
	case v.resolved:
		out.ImageError = model.MessageOf(v.res.Err)
	}
	return out
}

func (v imageTypeView) html(h *render.HTML) {
	h.Raw("<dl>")
	h.Field("name", v.t.Name)
	h.Field("label", deref(v.t.Label))
	h.Field("description", deref(v.t.Description))
	h.Field("version", strconv.Itoa(v.t.Version))
	h.Raw("<dt>image</dt><dd>")
	switch {
	case v.imgHref != "":
		h.Link(v.imgHref, v.res.Image.ID)
	case v.resolved:
		h.Esc(model.MessageOf(v.res.Err))
	default:
		h.Esc("(no mapping for this provider)")
	}
	h.Raw("</dd></dl>")
}

func sortedMapKeys(m map[string]model.Mapping) []string { return slices.Sorted(maps.Keys(m)) }

func (f *Front) listImageTypes(c *call) error {
	ts, err := f.gw.ListTypes(c.r.Context(), f.cfg.nativeTenant(), gateway.ImageTypes)
	if err != nil {
		return err
	}
	views := make([]imageTypeView, len(ts))
	for i, t := range ts {
		views[i] = c.imageTypeView(t)
	}
	return c.send(http.StatusOK, func(x *render.XML) {
		x.Start("image_types")
		for _, v := range views {
			v.xml(x)
		}
		x.End()
	}, func(w io.Writer) error {
		return render.JSONList(w, "image_types", views, func(v imageTypeView) any {
			return map[string]any{"image_type": v.json()}
		})
	}, "Image types", func(h *render.HTML) {
		h.Header("name", "label", "description", "version", "image")
		for _, v := range views {
			img := ""
			if v.imgHref != "" {
				img = v.res.Image.ID
			}
			h.Row(v.href, v.t.Name, deref(v.t.Label), deref(v.t.Description), strconv.Itoa(v.t.Version), img)
		}
		h.Raw("</table>")
	})
}

func (f *Front) getImageType(c *call) error {
	t, err := f.gw.GetType(c.r.Context(), f.cfg.nativeTenant(), gateway.ImageTypes, mux.Vars(c.r)["name"], 0)
	if err != nil {
		return err
	}
	v := c.imageTypeView(t)
	return c.send(http.StatusOK, v.xml, func(w io.Writer) error {
		return render.JSON(w, map[string]any{"image_type": v.json()})
	}, "Image type "+t.Name, v.html)
}
