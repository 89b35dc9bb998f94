package deltacloud

import (
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/render"
)

func matrixOf(r *http.Request, seg string) map[string]string {
	return api.MatrixOf(r.Context())[seg]
}

// ---- realms

type realmJSON struct {
	ID    string `json:"id"`
	Href  string `json:"href"`
	Name  string `json:"name"`
	State string `json:"state"`
	Limit string `json:"limit,omitempty"`
}

func (c *call) realmXML(x *render.XML, r model.Realm) {
	x.Start("realm", render.A("href", c.href("realms", r.ID)), render.A("id", r.ID))
	x.Text("name", r.Name)
	x.Text("state", strings.ToUpper(r.State))
	if r.Limit != "" {
		x.Text("limit", r.Limit)
	}
	x.End()
}

func (c *call) realmJSON(r model.Realm) realmJSON {
	return realmJSON{ID: r.ID, Href: c.href("realms", r.ID), Name: r.Name, State: strings.ToUpper(r.State), Limit: r.Limit}
}

func (f *Front) listRealms(c *call) error {
	o, err := pageOptions(c.query, func(s string) ([]model.SortKey, error) { return model.ParseSortOf(s, gateway.RealmSortFields...) })
	if err != nil {
		return err
	}
	sess, err := c.session()
	if err != nil {
		return err
	}
	p, err := sess.QueryRealms(c.r.Context(), o)
	if err != nil {
		return err
	}
	realms := p.Items
	next := c.nextPage("realms", p.NextCursor)
	if next != "" {
		c.w.Header().Add("Link", "<"+next+`>; rel="next"`)
	}
	return c.send(http.StatusOK, func(x *render.XML) {
		x.Start("realms")
		for _, r := range realms {
			c.realmXML(x, r)
		}
		if next != "" {
			x.Empty("link", render.A("rel", "next"), render.A("href", next))
		}
		x.End()
	}, func(w io.Writer) error {
		return render.JSONPage(w, "realms", len(realms), func(i int) any { return map[string]any{"realm": c.realmJSON(realms[i])} }, next)
	}, "Realms", func(h *render.HTML) {
		h.Header("id", "name", "state", "limit")
		for _, r := range realms {
			h.Row(c.href("realms", r.ID), r.ID, r.Name, strings.ToUpper(r.State), r.Limit)
		}
		h.EndTable()
		nextLinkHTML(h, next)
	})
}

func (f *Front) getRealm(c *call) error {
	sess, err := c.session()
	if err != nil {
		return err
	}
	r, err := sess.GetRealm(c.r.Context(), mux.Vars(c.r)["id"])
	if err != nil {
		return err
	}
	return c.send(http.StatusOK, func(x *render.XML) { c.realmXML(x, r) }, func(w io.Writer) error {
		return render.JSON(w, map[string]any{"realm": c.realmJSON(r)})
	}, "Realm "+r.ID, func(h *render.HTML) {
		h.Raw("<dl>")
		h.Field("id", r.ID)
		h.Field("name", r.Name)
		h.Field("state", strings.ToUpper(r.State))
		h.Field("limit", r.Limit)
		h.Raw("</dl>")
	})
}

// ---- instances (read-only)

type instanceJSON struct {
	ID               string        `json:"id"`
	Href             string        `json:"href"`
	Name             string        `json:"name"`
	OwnerID          string        `json:"owner_id"`
	Image            *ref          `json:"image,omitempty"`
	Realm            *ref          `json:"realm,omitempty"`
	State            string        `json:"state"`
	HardwareProfile  *hwRefJSON    `json:"hardware_profile,omitempty"`
	Actions          []render.Link `json:"actions"`
	PublicAddresses  []addressJSON `json:"public_addresses"`
	PrivateAddresses []addressJSON `json:"private_addresses"`
}

// addressJSON is an instance address with its kind, as upstream shows it:
// {"type": "ipv4", "address": "192.0.2.1"}.
type addressJSON struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

// addressType is an address's kind: ipv4, ipv6 or hostname.
func addressType(a string) string {
	ip, err := netip.ParseAddr(a)
	switch {
	case err != nil:
		return "hostname"
	case ip.Is4() || ip.Is4In6():
		return "ipv4"
	}
	return "ipv6"
}

func addressesJSON(as []string) []addressJSON {
	out := make([]addressJSON, 0, len(as))
	for _, a := range as {
		out = append(out, addressJSON{Type: addressType(a), Address: a})
	}
	return out
}

type hwRefJSON struct {
	ID         string     `json:"id"`
	Href       string     `json:"href"`
	Properties []propJSON `json:"properties,omitempty"`
}

func (c *call) instanceActions(in model.Instance) []render.Link {
	links := []render.Link{}
	if in.CanCreateImage {
		links = append(links, render.Link{Rel: "create_image", Method: "post", Href: c.base + "/images;instance_id=" + in.ID})
	}
	return links
}

func (c *call) instanceXML(x *render.XML, in model.Instance) {
	x.Start("instance", render.A("href", c.href("instances", in.ID)), render.A("id", in.ID))
	x.Text("name", in.Name)
	x.Text("owner_id", in.OwnerID)
	// A reference the cloud does not know (a VM with no source image) is
	// left out rather than shown as a link to nothing.
	if in.ImageID != "" {
		x.Empty("image", render.A("href", c.href("images", in.ImageID)), render.A("id", in.ImageID))
	}
	if in.RealmID != "" {
		x.Empty("realm", render.A("href", c.href("realms", in.RealmID)), render.A("id", in.RealmID))
	}
	x.Text("state", strings.ToUpper(in.State))
	if in.ProfileID != "" {
		x.Start("hardware_profile", render.A("href", c.href("hardware_profiles", in.ProfileID)), render.A("id", in.ProfileID))
		for _, p := range in.ProfileOverrides {
			x.Empty("property", render.A("kind", "fixed"), render.A("name", p.Name), render.A("unit", p.Unit), render.A("value", p.Value))
		}
		x.End()
	}
	x.Links(c.instanceActions(in))
	x.Start("public_addresses")
	for _, a := range in.PublicAddresses {
		x.Text("address", a, render.A("type", addressType(a)))
	}
	x.End()
	x.Start("private_addresses")
	for _, a := range in.PrivateAddresses {
		x.Text("address", a, render.A("type", addressType(a)))
	}
	x.End()
	x.End()
}

func (c *call) instanceJSON(in model.Instance) instanceJSON {
	out := instanceJSON{ID: in.ID, Href: c.href("instances", in.ID), Name: in.Name, OwnerID: in.OwnerID,
		State: strings.ToUpper(in.State), Actions: c.instanceActions(in),
		PublicAddresses: addressesJSON(in.PublicAddresses), PrivateAddresses: addressesJSON(in.PrivateAddresses)}
	if in.ImageID != "" {
		out.Image = &ref{ID: in.ImageID, Href: c.href("images", in.ImageID)}
	}
	if in.RealmID != "" {
		out.Realm = &ref{ID: in.RealmID, Href: c.href("realms", in.RealmID)}
	}
	if in.ProfileID != "" {
		hw := &hwRefJSON{ID: in.ProfileID, Href: c.href("hardware_profiles", in.ProfileID)}
		for _, p := range in.ProfileOverrides {
			hw.Properties = append(hw.Properties, propJSON{Name: p.Name, Kind: "fixed", Unit: p.Unit, Value: p.Value})
		}
		out.HardwareProfile = hw
	}
	return out
}

func (c *call) instanceHTML(h *render.HTML, in model.Instance) {
	h.Raw("<dl>")
	h.Field("id", in.ID)
	h.Field("name", in.Name)
	h.Field("owner_id", in.OwnerID)
	for _, l := range [][3]string{{"image", "images", in.ImageID}, {"realm", "realms", in.RealmID}, {"hardware_profile", "hardware_profiles", in.ProfileID}} {
		if l[2] != "" {
			h.Raw("<dt>" + l[0] + "</dt><dd>")
			h.Link(c.href(l[1], l[2]), l[2])
			h.Raw("</dd>")
		}
	}
	h.Field("state", strings.ToUpper(in.State))
	h.Field("public_addresses", strings.Join(in.PublicAddresses, ", "))
	h.Field("private_addresses", strings.Join(in.PrivateAddresses, ", "))
	h.Raw("</dl>")
	if in.CanCreateImage {
		c.createImageForm(h, in.ID)
	} else {
		h.Raw(`<p class="note">This instance cannot be imaged.</p>`)
	}
}

func (f *Front) listInstances(c *call) error {
	sess, err := c.session()
	if err != nil {
		return err
	}
	insts, err := sess.ListInstances(c.r.Context())
	if err != nil {
		return err
	}
	return c.send(http.StatusOK, func(x *render.XML) {
		x.Start("instances")
		for _, in := range insts {
			c.instanceXML(x, in)
		}
		x.End()
	}, func(w io.Writer) error {
		return render.JSONList(w, "instances", insts, func(in model.Instance) any { return map[string]any{"instance": c.instanceJSON(in)} })
	}, "Instances", func(h *render.HTML) {
		h.Header("id", "name", "image", "state", "create image")
		for _, in := range insts {
			h.Raw("<tr><td>")
			h.Link(c.href("instances", in.ID), in.ID)
			h.Raw("</td><td>")
			h.Esc(in.Name)
			h.Raw("</td><td>")
			h.Esc(in.ImageID)
			h.Raw("</td><td>")
			h.Esc(strings.ToUpper(in.State))
			h.Raw("</td><td>")
			if in.CanCreateImage {
				h.Link(c.href("instances", in.ID)+"#create-image", "Create image…")
			}
			h.Raw("</td></tr>\n")
		}
		h.EndTable()
	})
}

func (f *Front) getInstance(c *call) error {
	sess, err := c.session()
	if err != nil {
		return err
	}
	in, err := sess.GetInstance(c.r.Context(), mux.Vars(c.r)["id"])
	if err != nil {
		return err
	}
	return c.send(http.StatusOK, func(x *render.XML) { c.instanceXML(x, in) }, func(w io.Writer) error {
		return render.JSON(w, map[string]any{"instance": c.instanceJSON(in)})
	}, "Instance "+in.ID, func(h *render.HTML) { c.instanceHTML(h, in) })
}

// ---- drivers

type driverJSON struct {
	ID        string `json:"id"`
	Href      string `json:"href"`
	Name      string `json:"name"`
	Providers []ref  `json:"providers"`
}

func (c *call) driverXML(x *render.XML, d model.DriverInfo) {
	x.Start("driver", render.A("href", c.href("drivers", d.ID)), render.A("id", d.ID))
	x.Text("name", d.Name)
	for _, p := range d.Providers {
		x.Empty("provider", render.A("id", p))
	}
	x.End()
}

func (c *call) driverJSON(d model.DriverInfo) driverJSON {
	out := driverJSON{ID: d.ID, Href: c.href("drivers", d.ID), Name: d.Name, Providers: []ref{}}
	for _, p := range d.Providers {
		out.Providers = append(out.Providers, ref{ID: p})
	}
	return out
}

func (f *Front) listDrivers(c *call) error {
	ds := f.gw.Drivers()
	return c.send(http.StatusOK, func(x *render.XML) {
		x.Start("drivers")
		for _, d := range ds {
			c.driverXML(x, d)
		}
		x.End()
	}, func(w io.Writer) error {
		return render.JSONList(w, "drivers", ds, func(d model.DriverInfo) any { return map[string]any{"driver": c.driverJSON(d)} })
	}, "Drivers", func(h *render.HTML) {
		h.Header("id", "name", "providers")
		for _, d := range ds {
			h.Row(c.href("drivers", d.ID), d.ID, d.Name, strings.Join(d.Providers, ", "))
		}
		h.EndTable()
	})
}

func (f *Front) getDriver(c *call) error {
	d, err := f.gw.Driver(mux.Vars(c.r)["id"])
	if err != nil {
		return err
	}
	return c.send(http.StatusOK, func(x *render.XML) { c.driverXML(x, d) }, func(w io.Writer) error {
		return render.JSON(w, map[string]any{"driver": c.driverJSON(d)})
	}, "Driver "+d.Name, func(h *render.HTML) {
		h.Raw("<dl>")
		h.Field("id", d.ID)
		h.Field("name", d.Name)
		h.Field("providers", strings.Join(d.Providers, ", "))
		h.Raw("</dl>")
	})
}

// ---- jobs (imagegw extension)

type jobJSON struct {
	ID       string              `json:"id"`
	Href     string              `json:"href"`
	Kind     string              `json:"kind"`
	State    string              `json:"state"`
	Driver   string              `json:"driver"`
	Provider string              `json:"provider"`
	Image    ref                 `json:"image"`
	Error    string              `json:"error,omitempty"`
	Created  string              `json:"created"`
	Updated  string              `json:"updated"`
	Log      []model.JobLogEntry `json:"log"`
}

func (c *call) jobJSON(j model.Job) jobJSON {
	log := j.Log
	if log == nil {
		log = []model.JobLogEntry{}
	}
	return jobJSON{ID: j.ID, Href: c.href("jobs", j.ID), Kind: j.Kind, State: j.State, Driver: j.Driver,
		Provider: j.Provider, Image: ref{ID: j.Target, Href: c.href("images", j.Target)}, Error: j.Error,
		Created: j.Created.UTC().Format(time.RFC3339), Updated: j.Updated.UTC().Format(time.RFC3339), Log: log}
}

func (c *call) jobXML(x *render.XML, j model.Job) {
	v := c.jobJSON(j)
	x.Start("job", render.A("href", v.Href), render.A("id", j.ID))
	x.Text("kind", j.Kind)
	x.Text("state", j.State)
	x.Text("driver", j.Driver)
	x.Text("provider", j.Provider)
	x.Empty("image", render.A("href", v.Image.Href), render.A("id", j.Target))
	if j.Error != "" {
		x.Text("error", j.Error)
	}
	x.Text("created", v.Created)
	x.Text("updated", v.Updated)
	x.Start("log")
	for _, l := range j.Log {
		x.Text("entry", l.Message, render.A("time", l.Time.UTC().Format(time.RFC3339)))
	}
	x.End()
	x.End()
}

// listJobs lists the caller's own jobs (the identity of its credentials on
// the selected provider), a page at a time: ?limit (1 to 1000, default
// 100) and ?marker from the previous page's next link.
func (f *Front) listJobs(c *call) error {
	sess, err := c.jobSession()
	if err != nil {
		return err
	}
	q := gateway.JobQuery{Caller: sess.Identity(), Cursor: c.r.URL.Query().Get("marker")}
	if v := c.r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > gateway.MaxJobLimit {
			return model.Errorf(model.InvalidArgument, "limit must be a number from 1 to %d, not %q", gateway.MaxJobLimit, v)
		}
		q.Limit = n
	}
	page, err := f.gw.Jobs().ListFor(c.r.Context(), q)
	if err != nil {
		return err
	}
	mine, next := page.Jobs, ""
	if page.NextCursor != "" {
		nq := c.r.URL.Query()
		nq.Set("marker", page.NextCursor)
		if _, ok := nq["format"]; !ok && c.format != fmtXML {
			nq.Set("format", c.format)
		}
		next = c.href("jobs") + "?" + nq.Encode()
		c.w.Header().Add("Link", "<"+next+`>; rel="next"`)
	}
	return c.send(http.StatusOK, func(x *render.XML) {
		x.Start("jobs")
		for _, j := range mine {
			c.jobXML(x, j)
		}
		if next != "" {
			x.Empty("link", render.A("rel", "next"), render.A("href", next))
		}
		x.End()
	}, func(w io.Writer) error {
		return render.JSONPage(w, "jobs", len(mine), func(i int) any { return map[string]any{"job": c.jobJSON(mine[i])} }, next)
	}, "Jobs", func(h *render.HTML) {
		c.jobsHTML(h, mine)
		if next != "" {
			h.Raw("<p>")
			h.Link(next, "next page")
			h.Raw("</p>")
		}
	})
}

// jobSession is the session whose identity owns jobs: jobs need
// credentials, even on an anonymous provider.
func (c *call) jobSession() (*gateway.Session, error) {
	if _, _, ok := c.r.BasicAuth(); !ok {
		return nil, model.Errorf(model.Unauthenticated, gateway.ErrCredentialsRequired)
	}
	return c.session()
}

func (f *Front) getJob(c *call) error {
	sess, err := c.jobSession()
	if err != nil {
		return err
	}
	j, err := f.gw.Jobs().GetFor(c.r.Context(), sess.Identity(), mux.Vars(c.r)["id"])
	if err != nil {
		return err
	}
	if c.format == fmtHTML && j.State == model.JobRunning {
		c.w.Header().Set("Refresh", "2")
	}
	return c.send(http.StatusOK, func(x *render.XML) { c.jobXML(x, j) }, func(w io.Writer) error {
		return render.JSON(w, map[string]any{"job": c.jobJSON(j)})
	}, "Job "+j.ID, func(h *render.HTML) { c.jobHTML(h, j) })
}
