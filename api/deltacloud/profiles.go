package deltacloud

import (
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

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

// sortProfiles orders by numeric cpu default, then memory default;
// profiles lacking either come last, in their original order.
func sortProfiles(hps []model.HardwareProfile) {
	slices.SortStableFunc(hps, func(a, b model.HardwareProfile) int {
		ac, aok := a.DefaultFloat(model.PropCPU)
		am, amok := a.DefaultFloat(model.PropMemory)
		bc, bok := b.DefaultFloat(model.PropCPU)
		bm, bmok := b.DefaultFloat(model.PropMemory)
		aFull, bFull := aok && amok, bok && bmok
		switch {
		case aFull && !bFull:
			return -1
		case !aFull && bFull:
			return 1
		case !aFull && !bFull:
			return 0
		case ac != bc:
			if ac < bc {
				return -1
			}
			return 1
		case am < bm:
			return -1
		case am > bm:
			return 1
		}
		return 0
	})
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
	sess, err := c.session()
	if err != nil {
		return err
	}
	hps, err := sess.ListHardwareProfiles(c.r.Context(), c.r.URL.Query().Get("architecture"))
	if err != nil {
		return err
	}
	sortProfiles(hps)
	return c.send(http.StatusOK, func(x *render.XML) {
		x.Start("hardware_profiles")
		for _, hp := range hps {
			c.profileXML(x, hp)
		}
		x.End()
	}, func(w io.Writer) error {
		return render.JSONList(w, "hardware_profiles", hps, func(hp model.HardwareProfile) any {
			return map[string]any{"hardware_profile": c.profileJSON(hp)}
		})
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
