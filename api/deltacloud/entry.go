package deltacloud

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/render"
)

type feature struct {
	Name   string   `json:"name"`
	Rel    string   `json:"rel"`
	Params []string `json:"params"`
}

type entryLink struct {
	Rel      string    `json:"rel"`
	Href     string    `json:"href"`
	Features []feature `json:"features,omitempty"`
}

// entryPoint answers GET /api: one link per collection the driver
// supports, with the image features it really implements.
func (f *Front) entryPoint(c *call) error {
	fa := c.r.URL.Query().Get("force_auth")
	sess, err := c.session()
	var caps gateway.Capabilities
	switch {
	case err == nil:
		caps = sess.Capabilities()
	case model.MessageOf(err) == gateway.ErrCredentialsRequired && fa != "1" && fa != "true":
		// anonymous on a provider that serves no anonymous requests: the
		// entry point still says what the driver can do
		if caps, err = f.gw.DriverCapabilities(c.r.Context(), c.target); err != nil {
			return err
		}
	default:
		return err
	}
	if fa == "1" || fa == "true" {
		if err := sess.CheckCredentials(c.r.Context()); err != nil {
			return err
		}
	}
	var imgFeatures []feature
	if caps.Features.OwnerFilter {
		imgFeatures = append(imgFeatures, feature{"owner_id", "index", []string{"owner_id"}})
	}
	if caps.Features.CreateName {
		imgFeatures = append(imgFeatures, feature{"image_name", "create", []string{"name"}})
	}
	if caps.Features.CreateDescription {
		imgFeatures = append(imgFeatures, feature{"image_description", "create", []string{"description"}})
	}
	imgFeatures = append(imgFeatures, c.actionFeatures()...)
	links := []entryLink{
		{Rel: "hardware_profiles", Href: c.href("hardware_profiles")},
		{Rel: "images", Href: c.href("images"), Features: imgFeatures},
	}
	if caps.Realms {
		links = append(links, entryLink{Rel: "realms", Href: c.href("realms")})
	}
	if caps.Instances {
		links = append(links, entryLink{Rel: "instances", Href: c.href("instances")})
	}
	links = append(links, entryLink{Rel: "image_types", Href: c.href("image_types")},
		entryLink{Rel: "drivers", Href: c.href("drivers")})
	return c.send(http.StatusOK, func(x *render.XML) {
		x.Start("api", render.A("version", APIVersion), render.A("driver", c.target.Driver), render.A("provider", c.target.Provider))
		for _, l := range links {
			x.Start("link", render.A("rel", l.Rel), render.A("href", l.Href))
			for _, ft := range l.Features {
				x.Start("feature", render.A("name", ft.Name), render.A("rel", ft.Rel))
				for _, p := range ft.Params {
					x.Empty("param", render.A("name", p))
				}
				x.End()
			}
			x.End()
		}
		x.End()
	}, func(w io.Writer) error {
		return render.JSON(w, map[string]any{"api": map[string]any{
			"version": APIVersion, "driver": c.target.Driver, "provider": c.target.Provider, "links": links}})
	}, "imagegw console", func(h *render.HTML) { c.entryHTML(h, links) })
}

// redirectSelection answers POST /api (form driver, provider) with 301 to
// /api;driver=X;provider=Y, as upstream does.
func (f *Front) redirectSelection(c *call) error {
	if err := parseForm(c.r); err != nil {
		return err
	}
	drv := strings.ToLower(c.r.Form.Get("driver"))
	if drv == "" {
		return model.Errorf(model.InvalidArgument, "Required parameter driver is missing")
	}
	prov := strings.ToLower(c.r.Form.Get("provider"))
	if _, err := f.gw.Resolve(gatewaySel(drv, prov)); err != nil {
		return err
	}
	loc := c.root + "/api;driver=" + url.PathEscape(drv)
	if prov != "" {
		loc += ";provider=" + url.PathEscape(prov)
	}
	http.Redirect(c.w, c.r, loc, http.StatusMovedPermanently)
	return nil
}
