package deltacloud

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/render"
)

func gatewaySel(d, p string) gateway.Selection { return gateway.Selection{Driver: d, Provider: p} }

type ref struct {
	ID   string `json:"id,omitempty"`
	Href string `json:"href"`
	Rel  string `json:"rel,omitempty"`
}

type imageJSON struct {
	ID               string        `json:"id"`
	Href             string        `json:"href"`
	Provider         string        `json:"provider,omitempty"` // federated lists (federated.go)
	Name             string        `json:"name"`
	Description      string        `json:"description"`
	OwnerID          string        `json:"owner_id"`
	Architecture     string        `json:"architecture"`
	State            string        `json:"state"`
	CreationTime     string        `json:"creation_time,omitempty"`
	HardwareProfiles []ref         `json:"hardware_profiles"`
	RootType         string        `json:"root_type"`
	Actions          []render.Link `json:"actions"`
}

// imageView is an image with everything its representations need.
type imageView struct {
	img      model.Image
	provider string // set in federated lists (federated.go)
	href     string
	profiles []ref
	actions  []render.Link
}

func (c *call) imageView(img model.Image, allProfiles []string) imageView {
	ids := img.HardwareProfiles
	if ids == nil {
		ids = allProfiles
	}
	v := imageView{img: img, href: c.href("images", img.ID), profiles: make([]ref, 0, len(ids))}
	for _, id := range ids {
		v.profiles = append(v.profiles, ref{ID: id, Href: c.href("hardware_profiles", id), Rel: "hardware_profile"})
	}
	// Upstream's action first, then the extensions the driver supports.
	v.actions = append([]render.Link{{Rel: "destroy_image", Method: "delete", Href: v.href}}, c.imageActions(v.href)...)
	return v
}

func creationTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.UnixDate)
}

func (v imageView) xml(x *render.XML) {
	x.Start("image", render.A("href", v.href), render.A("id", v.img.ID))
	if v.provider != "" {
		x.Text("provider", v.provider)
	}
	x.Text("name", v.img.Name)
	x.Text("description", v.img.Description)
	x.Text("owner_id", v.img.OwnerID)
	x.Text("architecture", v.img.Architecture)
	x.Text("state", strings.ToUpper(v.img.State))
	if ct := creationTime(v.img.Created); ct != "" {
		x.Text("creation_time", ct)
	}
	x.Start("hardware_profiles")
	for _, p := range v.profiles {
		if p.ID == "" { // a link to the profiles that fit (lists, past max_profile_links)
			x.Empty("hardware_profiles", render.A("rel", p.Rel), render.A("href", p.Href))
			continue
		}
		x.Empty("hardware_profile", render.A("rel", p.Rel), render.A("id", p.ID), render.A("href", p.Href))
	}
	x.End()
	x.Text("root_type", v.img.RootType)
	x.Links(v.actions)
	x.End()
}

func (v imageView) json() imageJSON {
	return imageJSON{ID: v.img.ID, Href: v.href, Provider: v.provider, Name: v.img.Name, Description: v.img.Description,
		OwnerID: v.img.OwnerID, Architecture: v.img.Architecture, State: strings.ToUpper(v.img.State),
		CreationTime: creationTime(v.img.Created), HardwareProfiles: v.profiles, RootType: v.img.RootType,
		Actions: v.actions}
}

// profileIDs lists the provider's profile ids, for images whose driver
// cannot tell which fit. Images matter more than their profile links: if
// the profiles cannot be listed (credentials that may list images but not
// sizes, say), the images are shown with none, and the failure is logged.
func profileIDs(c *call, sess *gateway.Session) ([]string, error) {
	ids, _, err := profileIDsStamped(c, sess)
	return ids, err
}

// profileIDsStamped is profileIDs with the catalog's stamp of the profiles
// (0: not from the catalog): the sorted ids are computed once per stamp.
func profileIDsStamped(c *call, sess *gateway.Session) ([]string, uint64, error) {
	hps, stamp, err := sess.HardwareProfiles(c.r.Context())
	if err != nil {
		if code := model.CodeOf(err); code == model.Canceled || code == model.DeadlineExceeded {
			return nil, 0, err
		}
		c.f.log.Warn("listing hardware profiles for image links failed; images shown without them",
			"request_id", api.RequestID(c.r.Context()), "driver", c.target.Driver, "provider", c.target.Provider, "err", err)
		return []string{}, 0, nil
	}
	if stamp != 0 {
		if ids, ok := c.f.profileIDs.Load(stamp); ok {
			return ids.([]string), stamp, nil
		}
	}
	sorted := gateway.SortedProfiles(hps)
	ids := make([]string, len(sorted))
	for i, hp := range sorted {
		ids[i] = hp.ID
	}
	if stamp != 0 {
		c.f.profileIDsMu.Lock()
		if c.f.profileIDsN++; c.f.profileIDsN > 256 {
			c.f.profileIDs.Clear()
			c.f.profileIDsN = 0
		}
		c.f.profileIDsMu.Unlock()
		c.f.profileIDs.Store(stamp, ids)
	}
	return ids, stamp, nil
}

// listQuery parses GET /api/images' filters (owner_id, architecture, name,
// state) and the extensions limit, marker, sort and search; a bad value is
// InvalidArgument naming the parameter.
func listQuery(q url.Values) (model.ImageQuery, model.ListOptions, error) {
	iq := model.ImageQuery{OwnerID: q.Get("owner_id"), Architecture: q.Get("architecture"), Name: q.Get("name"),
		State: q.Get("state"), Search: q.Get("search")}
	o, err := pageOptions(q, model.ParseSort)
	if err != nil {
		return iq, o, err
	}
	if o.Sort == nil {
		// Deltacloud's order: owner, then description, then id
		o.Sort = []model.SortKey{{Field: model.SortOwner}, {Field: model.SortDescription}}
	}
	return iq, o, nil
}

// pageOptions reads a list's limit, marker and sort (parsed by parseSort).
func pageOptions(q url.Values, parseSort func(string) ([]model.SortKey, error)) (model.ListOptions, error) {
	var o model.ListOptions
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > model.MaxLimit {
			return o, model.Errorf(model.InvalidArgument, "limit must be a number from 1 to %d, not %q", model.MaxLimit, v)
		}
		o.Limit = n
	}
	o.Cursor = q.Get("marker")
	keys, err := parseSort(q.Get("sort"))
	if err != nil {
		return o, err
	}
	o.Sort = keys
	return o, nil
}

// nextHref is the URL of the page after p, or "".
func (c *call) nextHref(p *gateway.ImagePage) string {
	return c.nextPage("images", p.NextCursor)
}

// nextPage is the URL of collection's page after cursor ("" for none):
// this request's query with the marker set.
func (c *call) nextPage(collection, cursor string) string {
	if cursor == "" {
		return ""
	}
	q := maps.Clone(c.query)
	if q == nil {
		q = url.Values{}
	}
	q.Set("marker", cursor)
	if _, ok := q["format"]; !ok && c.format != fmtXML {
		q.Set("format", c.format)
	}
	return c.href(collection) + "?" + q.Encode()
}

func (f *Front) listImages(c *call) error {
	query := c.query
	iq, o, err := listQuery(query)
	if err != nil {
		return err
	}
	c.consoleListDefaults(query, &o)
	if c.federation != nil {
		return f.listImagesFederated(c, iq, o) // several providers at once: federated.go
	}
	sess, err := c.session()
	if err != nil {
		return err
	}
	p, err := sess.QueryImages(c.r.Context(), iq, o)
	if err != nil {
		return err
	}
	if p.Warning != "" {
		c.w.Header().Set("Warning", p.Warning)
	}
	next := c.nextHref(&p)
	if next != "" {
		c.w.Header().Add("Link", "<"+next+`>; rel="next"`)
	}
	var all []string
	var stamp uint64
	for i := range p.Len() {
		if p.At(i).HardwareProfiles == nil {
			if all, stamp, err = profileIDsStamped(c, sess); err != nil {
				return err
			}
			if stamp == 0 && len(all) > 0 {
				return c.sendList(p, all, next, "") // profiles not from the catalog: do not keep the answer
			}
			break
		}
	}
	key := ""
	if p.Generation != 0 {
		b := make([]byte, 0, 64+len(c.base)+len(c.r.URL.RawQuery))
		b = append(append(append(append(b, "images|"...), c.format...), '|'), c.base...)
		b = strconv.AppendUint(append(b, '|'), p.Generation, 10)
		b = strconv.AppendUint(append(b, '|'), stamp, 10)
		key = string(append(append(b, '|'), c.r.URL.RawQuery...))
		if c.f.answers.SendKept(c.w, c.r, api.Body{Status: http.StatusOK, ContentType: contentType(c.format), Key: key}) {
			return nil // encoded before: nothing to render
		}
	}
	return c.sendList(p, all, next, key)
}

// sendList sends a page of images, kept under key (see api.Body.Key).
func (c *call) sendList(p gateway.ImagePage, all []string, next, key string) error {
	return c.sendKeyed(http.StatusOK, key, func(x *render.XML) {
		x.Start("images")
		for i := range p.Len() {
			c.listView(p.At(i), all).xml(x)
			if i%256 == 255 {
				x.Flush()
			}
		}
		if next != "" {
			x.Empty("link", render.A("rel", "next"), render.A("href", next))
		}
		x.End()
	}, func(w io.Writer) error {
		return render.JSONPage(w, "images", p.Len(), func(i int) any {
			return map[string]any{"image": c.listView(p.At(i), all).json()}
		}, next)
	}, "Images", func(h *render.HTML) { c.imagesHTML(h, &p, next) })
}

// listView is an image as lists show it: past max_profile_links profiles,
// a link to the profiles that fit instead of each of them (the single
// image keeps the full list).
func (c *call) listView(img *model.Image, all []string) imageView {
	ids := img.HardwareProfiles
	if ids == nil {
		ids = all
	}
	if len(ids) <= c.f.cfg.maxProfileLinks() {
		return c.imageView(*img, all)
	}
	v := c.imageView(model.Image{ID: img.ID}, nil)
	v.img = *img
	href := c.href("hardware_profiles")
	if img.Architecture != "" {
		href += "?architecture=" + url.QueryEscape(img.Architecture)
	}
	v.profiles = []ref{{ID: "", Href: href, Rel: "hardware_profiles"}}
	return v
}

func (f *Front) sendImage(c *call, status int, sess *gateway.Session, img model.Image) error {
	var all []string
	if img.HardwareProfiles == nil {
		var err error
		if all, err = profileIDs(c, sess); err != nil {
			return err
		}
	}
	v := c.imageView(img, all)
	var pg imagePage
	if c.format == fmtHTML {
		pg = c.consoleImage(img)
	}
	return c.send(status, v.xml, func(w io.Writer) error {
		return render.JSON(w, map[string]any{"image": v.json()})
	}, "Image "+img.ID, func(h *render.HTML) { c.imageHTML(h, v, pg) })
}

func (f *Front) getImage(c *call) error {
	sess, err := c.session()
	if err != nil {
		return err
	}
	img, err := sess.GetImage(c.r.Context(), mux.Vars(c.r)["id"])
	if err != nil {
		return err
	}
	return f.sendImage(c, http.StatusOK, sess, img)
}

func (f *Front) deleteImage(c *call) error {
	sess, err := c.session()
	if err != nil {
		return err
	}
	if err := sess.DeleteImage(c.r.Context(), mux.Vars(c.r)["id"]); err != nil {
		return err
	}
	if c.format == fmtHTML {
		http.Redirect(c.w, c.r, c.href("images"), http.StatusSeeOther)
		return nil
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// createParamNames are the parameters POST /api/images reads itself; any
// other parameter goes to the driver as an option.
var createParamNames = map[string]bool{"instance_id": true, "name": true, "description": true, "format": true, "_method": true, "force_auth": true}

func (f *Front) createImage(c *call) error {
	params, err := createParams(c.r)
	if err != nil {
		return err
	}
	req := model.CreateImage{InstanceID: params["instance_id"], Name: params["name"], Description: params["description"]}
	if req.InstanceID == "" {
		return model.Errorf(model.InvalidArgument, "Required parameter instance_id is missing")
	}
	for k, v := range params {
		if !createParamNames[k] {
			if req.Options == nil {
				req.Options = map[string]string{}
			}
			req.Options[k] = v
		}
	}
	sess, err := c.session()
	if err != nil {
		return err
	}
	img, job, err := sess.CreateImage(c.r.Context(), req, gateway.JobMeta{})
	if err != nil {
		return err
	}
	return f.sendCreated(c, sess, img, job)
}

// sendCreated answers a request that made an image: 201 with its Location
// and, when a job follows it, the job's id (X-Job-Id) and link (Link
// rel="job").
//
// A browser (HTML) is sent on with 303 See Other to the new image's page,
// so that reloading it does not make a second image.
func (f *Front) sendCreated(c *call, sess *gateway.Session, img model.Image, job model.Job) error {
	c.w.Header().Set("Location", c.href("images", img.ID))
	if c.format == fmtHTML {
		http.Redirect(c.w, c.r, c.href("images", img.ID), http.StatusSeeOther)
		return nil
	}
	if job.ID != "" {
		c.w.Header().Set("X-Job-Id", job.ID)
		c.w.Header().Add("Link", fmt.Sprintf("<%s>; rel=\"job\"", c.href("jobs", job.ID)))
	}
	if c.format == fmtHTML { // post/redirect/get: a reload does not create again
		http.Redirect(c.w, c.r, c.href("images", img.ID), http.StatusSeeOther)
		return nil
	}
	return f.sendImage(c, http.StatusCreated, sess, img)
}

// createParams merges, in increasing precedence, the images segment's
// matrix parameters, the query string and the body.
func createParams(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range matrixOf(r, "images") {
		out[k] = v
	}
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
	return out, nil
}

func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return mbe
		}
		return model.Errorf(model.InvalidArgument, "malformed form body: %v", err)
	}
	return nil
}

func bodyParams(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		if msg := api.MislabeledJSON(b, ""); msg != "" {
			return nil, fmt.Errorf("%w: %s", errUnsupportedMedia, msg)
		}
		if len(strings.TrimSpace(string(b))) > 0 {
			return nil, fmt.Errorf("%w: a body needs a Content-Type (form, multipart, JSON or XML)", errUnsupportedMedia)
		}
		return out, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, model.Errorf(model.InvalidArgument, "malformed Content-Type %q", ct)
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		if err := parseForm(r); err != nil {
			return nil, err
		}
		for k, vs := range r.PostForm {
			if api.LooksLikeJSON([]byte(k)) {
				return nil, fmt.Errorf("%w: %s", errUnsupportedMedia, api.MislabeledJSON([]byte(k), mt))
			}
			out[k] = vs[0]
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(MaxBody); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, mbe
			}
			return nil, model.Errorf(model.InvalidArgument, "malformed multipart body: %v", err)
		}
		for k, vs := range r.MultipartForm.Value {
			out[k] = vs[0]
		}
	case "application/json":
		var v any
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&v); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, mbe
			}
			return nil, model.Errorf(model.InvalidArgument, "malformed JSON body: %v", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, model.Errorf(model.InvalidArgument, `the JSON body must be an object of parameters, such as {"name": "my-image"}, not %s`, api.JSONKind(v))
		}
		if img, ok := m["image"].(map[string]any); ok && len(m) == 1 {
			m = img
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[k] = v
			case bool, float64:
				out[k] = fmt.Sprint(v)
			case nil:
			default:
				return nil, model.Errorf(model.InvalidArgument, "parameter %s must be a string", k)
			}
		}
	case "application/xml", "text/xml":
		return xmlParams(r.Body)
	default:
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		if msg := api.MislabeledJSON(b, mt); msg != "" {
			return nil, fmt.Errorf("%w: %s", errUnsupportedMedia, msg)
		}
		return nil, fmt.Errorf("%w: %s; use form, multipart, JSON or XML", errUnsupportedMedia, mt)
	}
	return out, nil
}

// xmlParams reads <image><instance_id/>...</image>, refusing DTDs and
// entity declarations.
func xmlParams(body io.Reader) (map[string]string, error) {
	out := map[string]string{}
	dec := xml.NewDecoder(body)
	depth := 0
	var cur string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, mbe
			}
			return nil, model.Errorf(model.InvalidArgument, "malformed XML body: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, model.Errorf(model.InvalidArgument, "XML bodies must not contain a DTD or entity declarations")
		case xml.StartElement:
			depth++
			if depth == 2 {
				cur = t.Name.Local
				text.Reset()
			} else if depth > 2 {
				return nil, model.Errorf(model.InvalidArgument, "unexpected nested element <%s> in XML body", t.Name.Local)
			}
		case xml.CharData:
			if depth == 2 {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				out[cur] = strings.TrimSpace(text.String())
			}
			depth--
		}
	}
	if depth != 0 {
		return nil, model.Errorf(model.InvalidArgument, "malformed XML body")
	}
	return out, nil
}

// newImageForm answers GET /api/images/new?instance_id=X with an HTML form.
func (f *Front) newImageForm(c *call) error {
	inst := c.r.URL.Query().Get("instance_id")
	if inst == "" {
		return model.Errorf(model.InvalidArgument, "Required parameter instance_id is missing")
	}
	if c.format != fmtHTML {
		return errNotAcceptable("/api/images/new is served as HTML only")
	}
	return c.send(http.StatusOK, nil, nil, "New image from "+inst, func(h *render.HTML) {
		h.Raw(`<form method="post" action="`)
		h.Esc(c.href("images"))
		h.Raw(`"><input type="hidden" name="instance_id" value="`)
		h.Esc(inst)
		h.Raw(`"><p><label>Name <input name="name"></label></p><p><label>Description <input name="description"></label></p><p><button type="submit">Create image</button></p></form>`)
	})
}
