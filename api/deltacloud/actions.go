package deltacloud

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/render"
)

// The image actions beyond upstream Deltacloud (docs/api/deltacloud.md,
// "Extensions"): update, clone, copy and export. Each is offered, in the
// entry point's features and as an action link on every image, only when
// the selected driver has the capability.

// action describes one image action: its feature and link name, the
// parameters it reads, and whether the driver can do it.
type action struct {
	rel    string // link rel and feature name
	method string
	suffix string // appended to the image's href
	params []string
	can    func(c *call) bool
}

var imageActions = []action{
	// Every driver can be updated: the gateway keeps what the cloud cannot
	// in its overlay (gateway.Session.UpdateImage).
	{"update_image", "put", "", []string{"name", "description"}, func(c *call) bool { return true }},
	{"clone_image", "post", "/clone", []string{"name", "description"}, func(c *call) bool { return c.caps.Clone }},
	{"copy_image", "post", "/copy", []string{"provider", "name", "description"}, func(c *call) bool { return c.caps.Copy && len(c.copyDestinations()) > 0 }},
	{"export_image", "post", "/export", []string{"path"}, func(c *call) bool { return c.caps.Export }},
}

// supportedActions are the image actions the session's driver can do
// (none before a session is open), worked out once per request.
func (c *call) supportedActions() []action {
	if c.caps == nil {
		return nil
	}
	if c.actions == nil {
		c.actions = []action{}
		for _, a := range imageActions {
			if a.can(c) {
				c.actions = append(c.actions, a)
			}
		}
	}
	return c.actions
}

// imageActions are the action links of an image at href.
func (c *call) imageActions(href string) []render.Link {
	var out []render.Link
	for _, a := range c.supportedActions() {
		out = append(out, render.Link{Rel: a.rel, Method: a.method, Href: href + a.suffix})
	}
	return out
}

// actionFeatures are the entry point's features for the image actions the
// driver supports.
func (c *call) actionFeatures() []feature {
	var out []feature
	for _, a := range c.supportedActions() {
		out = append(out, feature{Name: a.rel, Rel: strings.TrimSuffix(a.rel, "_image"), Params: a.params})
	}
	return out
}

// copyDestinations are the other providers of the selected driver, where
// a copy may go.
func (c *call) copyDestinations() []string {
	d, err := c.f.gw.Driver(c.target.Driver)
	if err != nil {
		return nil
	}
	return slices.DeleteFunc(slices.Clone(d.Providers), func(p string) bool { return p == c.target.Provider })
}

// passParams are parameters every action accepts and ignores: they steer
// the front, not the action.
var passParams = map[string]bool{"format": true, "_method": true, "force_auth": true}

// actionParams merges the query string and the body (which wins), and
// refuses a parameter the action does not take, naming the ones it does.
func actionParams(r *http.Request, name string, allowed []string) (map[string]string, error) {
	out := map[string]string{}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			out[k] = vs[0]
		}
	}
	body, err := bodyParams(r)
	if err != nil {
		return nil, err
	}
	for k, v := range body {
		out[k] = v
	}
	var unknown []string
	for k := range out {
		if !passParams[k] && !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, model.Errorf(model.InvalidArgument, "unknown parameter %s; %s takes %s", strings.Join(unknown, ", "), name, strings.Join(allowed, ", "))
	}
	return out, nil
}

// updateImage answers PUT or PATCH /api/images/{id}: name, description.
func (f *Front) updateImage(c *call) error {
	p, err := actionParams(c.r, "update_image", []string{"name", "description"})
	if err != nil {
		return err
	}
	var u model.ImageUpdate
	// A browser's form sends every field: there, an empty one means
	// "unchanged" rather than "empty".
	given := func(k string) (string, bool) {
		v, ok := p[k]
		return v, ok && !(c.format == fmtHTML && v == "")
	}
	if v, ok := given("name"); ok {
		u.Name = &v
	}
	if v, ok := given("description"); ok {
		u.Description = &v
	}
	if u.Name == nil && u.Description == nil {
		return model.Errorf(model.InvalidArgument, "nothing to update: give name, description or both")
	}
	sess, err := c.session()
	if err != nil {
		return err
	}
	img, err := sess.UpdateImage(c.r.Context(), mux.Vars(c.r)["id"], u)
	if err != nil {
		return err
	}
	if c.format == fmtHTML { // back to the image's page, as after a create
		http.Redirect(c.w, c.r, c.href("images", img.ID), http.StatusSeeOther)
		return nil
	}
	return f.sendImage(c, http.StatusOK, sess, img)
}

// cloneImage answers POST /api/images/{id}/clone: a copy within the
// provider, followed by a job.
func (f *Front) cloneImage(c *call) error {
	p, err := actionParams(c.r, "clone_image", []string{"name", "description"})
	if err != nil {
		return err
	}
	sess, err := c.session()
	if err != nil {
		return err
	}
	id := mux.Vars(c.r)["id"]
	img, job, err := sess.CloneImage(c.r.Context(), model.CloneImage{SourceImageID: id, Name: p["name"], Description: p["description"]},
		gateway.JobMeta{Params: map[string]string{"source": id}})
	if err != nil {
		return err
	}
	return f.sendCreated(c, sess, img, job)
}

// copyImage answers POST /api/images/{id}/copy: the image of the selected
// provider is copied into the provider the parameter names (of the same
// driver), followed by a job there. The answer's links are the
// destination's.
func (f *Front) copyImage(c *call) error {
	p, err := actionParams(c.r, "copy_image", []string{"provider", "name", "description"})
	if err != nil {
		return err
	}
	// The source's session tells whether the driver can copy at all.
	if _, err := c.session(); err != nil {
		return err
	}
	if !c.caps.Copy {
		return drivers.Unsupported(c.target.Driver, gateway.CapCopyImage)
	}
	dest := strings.ToLower(strings.TrimSpace(p["provider"]))
	others := c.copyDestinations()
	if dest == "" {
		return model.Errorf(model.InvalidArgument, "Required parameter provider (the destination) is missing; providers of driver %s to copy to: %s", c.target.Driver, listOrNone(others))
	}
	if dest == c.target.Provider {
		return model.Errorf(model.InvalidArgument, "provider %s is where the image already is; copy to another provider of driver %s: %s", dest, c.target.Driver, listOrNone(others))
	}
	t, err := f.gw.Resolve(gateway.Selection{Driver: c.target.Driver, Provider: dest})
	if err != nil {
		return err
	}
	dc := *c
	dc.target, dc.actions = t, nil
	dc.base = c.root + "/api;driver=" + url.PathEscape(t.Driver) + ";provider=" + url.PathEscape(t.Provider)
	sess, err := dc.session()
	if err != nil {
		return err
	}
	id := mux.Vars(c.r)["id"]
	img, job, err := sess.CopyImage(c.r.Context(), c.target.Provider, id, p["name"], p["description"],
		gateway.JobMeta{Params: map[string]string{"source": id, "source_provider": c.target.Provider}})
	if err != nil {
		return err
	}
	return f.sendCreated(&dc, sess, img, job)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none configured"
	}
	return strings.Join(s, ", ")
}

type exportJSON struct {
	Image        ref    `json:"image"`
	BaseURL      string `json:"base_url,omitempty"`
	ImagePath    string `json:"image_path"`
	ManifestPath string `json:"manifest_path,omitempty"`
}

// exportImage answers POST /api/images/{id}/export: path is where the
// export should go, in the driver's terms (or, where the gateway exports to
// its export_dir, a path under it; a directory or "" gets <id>.<format>
// and <id>.imgmanifest).
func (f *Front) exportImage(c *call) error {
	p, err := actionParams(c.r, "export_image", []string{"path"})
	if err != nil {
		return err
	}
	sess, err := c.session()
	if err != nil {
		return err
	}
	id := mux.Vars(c.r)["id"]
	if !c.caps.Export {
		return sess.Unsupported(gateway.CapExportImage)
	}
	// Where the gateway exports to its own directory, the manifest beside
	// the disk file is the image as this front shows it in JSON.
	img, err := sess.GetImage(c.r.Context(), id)
	if err != nil {
		return err
	}
	var all []string
	if img.HardwareProfiles == nil {
		if all, err = profileIDs(c, sess); err != nil {
			return err
		}
	}
	manifest, err := json.Marshal(map[string]any{"image": c.imageView(img, all).json()})
	if err != nil {
		return err
	}
	res, err := sess.ExportImage(c.r.Context(), id, model.ExportRequest{Path: p["path"], FileName: id, Manifest: manifest})
	if err != nil {
		return err
	}
	v := exportJSON{Image: ref{ID: id, Href: c.href("images", id)}, BaseURL: res.BaseURL, ImagePath: res.ImagePath, ManifestPath: res.ManifestPath}
	return c.send(http.StatusOK, func(x *render.XML) {
		x.Start("export", render.A("image", id), render.A("href", v.Image.Href))
		if v.BaseURL != "" {
			x.Text("base_url", v.BaseURL)
		}
		x.Text("image_path", v.ImagePath)
		if v.ManifestPath != "" {
			x.Text("manifest_path", v.ManifestPath)
		}
		x.End()
	}, func(w io.Writer) error {
		return render.JSON(w, map[string]any{"export": v})
	}, "Export of "+id, func(h *render.HTML) {
		h.Raw("<dl>")
		h.Raw("<dt>image</dt><dd>")
		h.Link(v.Image.Href, id)
		h.Raw("</dd>")
		h.Field("base_url", v.BaseURL)
		h.Field("image_path", v.ImagePath)
		h.Field("manifest_path", v.ManifestPath)
		h.Raw("</dl>")
	})
}
