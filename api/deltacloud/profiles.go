package deltacloud

import (
	"io"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/render"
)

// propOrder is the order properties are shown in.
var propOrder = []string{model.PropCPU, model.PropMemory, model.PropStorage, model.PropArchitecture}

func orderedProps(hp model.HardwareProfile) []model.Property {
	var out []model.Property
	for _, name := range propOrder {
		if p, ok := hp.Property(name); ok {
			out = append(out, p)
		}
	}
	return out
}

type propJSON struct {
	Name   string            `json:"name"`
	Kind   string            `json:"kind"`
	Unit   string            `json:"unit"`
	Value  string            `json:"value"`
	Range  map[string]string `json:"range,omitempty"`
	Values []string          `json:"values,omitempty"`
}

type profileJSON struct {
	ID         string     `json:"id"`
	Href       string     `json:"href"`
	Name       string     `json:"name"`
	Properties []propJSON `json:"properties"`
}

func (c *call) profileXML(x *render.XML, hp model.HardwareProfile) {
	x.Start("hardware_profile", render.A("href", c.href("hardware_profiles", hp.ID)), render.A("id", hp.ID))
	x.Text("id", hp.ID)
	x.Text("name", hp.Name)
	for _, p := range orderedProps(hp) {
		x.Start("property", render.A("kind", string(p.Kind)), render.A("name", p.Name), render.A("unit", p.Unit), render.A("value", p.Value))
		switch p.Kind {
		case model.Range:
			x.Empty("range", render.A("first", p.First), render.A("last", p.Last))
		case model.Enum:
			x.Start("enum")
			for _, v := range p.Values {
				x.Empty("entry", render.A("value", v))
			}
			x.End()
		}
		x.End()
	}
	x.End()
}

func (c *call) profileJSON(hp model.HardwareProfile) profileJSON {
	out := profileJSON{ID: hp.ID, Href: c.href("hardware_profiles", hp.ID), Name: hp.Name, Properties: []propJSON{}}
	for _, p := range orderedProps(hp) {
		pj := propJSON{Name: p.Name, Kind: string(p.Kind), Unit: p.Unit, Value: p.Value}
		switch p.Kind {
		case model.Range:
			pj.Range = map[string]string{"first": p.First, "last": p.Last}
		case model.Enum:
			pj.Values = p.Values
		}
		out.Properties = append(out.Properties, pj)
	}
	return out
}

func propSummary(p model.Property) string {
	switch p.Kind {
	case model.Range:
		return strings.TrimSpace(p.First + "–" + p.Last + " " + unitText(p) + " (default " + p.Value + ")")
	case model.Enum:
		s := ""
		for i, v := range p.Values {
			if i > 0 {
				s += ", "
			}
			s += v
		}
		return "one of " + s + " " + unitText(p) + " (default " + p.Value + ")"
	}
	return strings.TrimSpace(p.Value + " " + unitText(p))
}

func (f *Front) listProfiles(c *call) error {
	query := c.query
	o, err := pageOptions(query, func(s string) ([]model.SortKey, error) { return model.ParseSortOf(s, gateway.ProfileSortFields...) })
	if err != nil {
		return err
	}
	sess, err := c.session()
	if err != nil {
		return err
	}
	p, err := sess.QueryHardwareProfiles(c.r.Context(), query.Get("architecture"), o)
	if err != nil {
		return err
	}
	hps := p.Items
	next := c.nextPage("hardware_profiles", p.NextCursor)
	if next != "" {
		c.w.Header().Add("Link", "<"+next+`>; rel="next"`)
	}
	return c.send(http.StatusOK, func(x *render.XML) {
		x.Start("hardware_profiles")
		for _, hp := range hps {
			c.profileXML(x, hp)
		}
		if next != "" {
			x.Empty("link", render.A("rel", "next"), render.A("href", next))
		}
		x.End()
	}, func(w io.Writer) error {
		return render.JSONPage(w, "hardware_profiles", len(hps), func(i int) any {
			return map[string]any{"hardware_profile": c.profileJSON(hps[i])}
		}, next)
	}, "Hardware profiles", func(h *render.HTML) {
		h.Header("id", "cpu", "memory", "storage", "architecture")
		for _, hp := range hps {
			cells := []string{hp.ID}
			for _, name := range propOrder {
				p, _ := hp.Property(name)
				if p.Name == "" {
					cells = append(cells, "")
				} else {
					cells = append(cells, propSummary(p))
				}
			}
			h.Row(c.href("hardware_profiles", hp.ID), cells...)
		}
		h.EndTable()
		nextLinkHTML(h, next)
	})
}

func (f *Front) getProfile(c *call) error {
	sess, err := c.session()
	if err != nil {
		return err
	}
	hp, err := sess.GetHardwareProfile(c.r.Context(), mux.Vars(c.r)["id"])
	if err != nil {
		return err
	}
	return c.send(http.StatusOK, func(x *render.XML) { c.profileXML(x, hp) }, func(w io.Writer) error {
		return render.JSON(w, map[string]any{"hardware_profile": c.profileJSON(hp)})
	}, "Hardware profile "+hp.ID, func(h *render.HTML) {
		h.Raw("<dl>")
		h.Field("id", hp.ID)
		h.Field("name", hp.Name)
		for _, p := range orderedProps(hp) {
			h.Field(p.Name, propSummary(p))
		}
		h.Raw("</dl>")
	})
}
