package deltacloud

import (
	"bufio"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/render"
)

// Federated search (an imagegw extension, docs/api/deltacloud.md):
// GET /api;driver=ec2;provider=*/images, or ;provider=a,b, lists the images
// of several providers of the driver at once, through each one's catalog
// and each under its own deadline (gateway.QueryImagesAcross). Every image
// carries its provider and an href selecting it; providers that fail are
// listed (<failures>, "failures", a Warning header each) while the others'
// images are served. Only when all fail is the answer an error.

// federate takes a federated provider selection: only GET /api/images
// accepts one, and every provider named must be the driver's.
func (c *call) federate(sel gateway.Selection) {
	p := strings.TrimSuffix(c.r.URL.Path, "/")
	if (c.r.Method != http.MethodGet && c.r.Method != http.MethodHead) || p != "/api/images" {
		c.selErr = model.Errorf(model.InvalidArgument, "several providers (provider=%s) can be selected only to list images (GET /api/images)", sel.Provider)
		return
	}
	c.federation, c.selErr = c.f.gw.ProvidersOf(sel.Driver, sel.Provider)
	if c.selErr == nil {
		c.target, c.selErr = c.f.gw.Resolve(gateway.Selection{Driver: sel.Driver})
	}
	if c.selErr != nil {
		c.federation = nil
	}
}

// forProvider is the call as if it had selected one provider: its links
// select that provider.
func (c *call) forProvider(p string) *call {
	cc := *c
	cc.target.Provider = p
	cc.base = c.root + "/api;driver=" + url.PathEscape(c.target.Driver) + ";provider=" + url.PathEscape(p)
	return &cc
}

type failureJSON struct {
	Provider string `json:"provider"`
	Status   int    `json:"status"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

func (f *Front) listImagesFederated(c *call, iq model.ImageQuery, o model.ListOptions) error {
	var creds model.Credentials
	if u, p, ok := c.r.BasicAuth(); ok {
		creds = model.Credentials{User: u, Password: p}
	}
	fp, err := f.gw.QueryImagesAcross(c.r.Context(), c.target.Driver, c.federation, creds, iq, o)
	if err != nil {
		return err
	}
	c.w.Header().Set("X-Deltacloud-Provider", strings.Join(c.federation, ","))
	for _, p := range slices.Sorted(maps.Keys(fp.Warnings)) {
		c.w.Header().Add("Warning", fp.Warnings[p])
	}
	failures := make([]failureJSON, len(fp.Failures))
	for i, fa := range fp.Failures {
		st, code := statusOf(fa.Err)
		failures[i] = failureJSON{Provider: fa.Provider, Status: st, Code: code, Message: model.MessageOf(fa.Err)}
		c.w.Header().Add("Warning", `199 imagegw "provider `+fa.Provider+` failed: `+strings.ReplaceAll(failures[i].Message, `"`, `'`)+`"`)
	}
	imgs := fp.Images
	// per provider: its links, and its profile ids for images whose
	// driver cannot tell which fit
	calls := map[string]*call{}
	all := map[string][]string{}
	keyable, stamps := fp.Generation != "", ""
	for _, img := range imgs {
		if _, ok := calls[img.Provider]; ok {
			continue
		}
		pc := c.forProvider(img.Provider)
		calls[img.Provider] = pc
		if slices.ContainsFunc(imgs, func(i gateway.FederatedImage) bool { return i.Provider == img.Provider && i.HardwareProfiles == nil }) {
			sess, err := pc.session()
			if err != nil {
				return err
			}
			var stamp uint64
			if all[img.Provider], stamp, err = profileIDsStamped(pc, sess); err != nil {
				return err
			}
			if stamp == 0 && len(all[img.Provider]) > 0 {
				keyable = false // profiles not from the catalog
			}
			stamps += img.Provider + ":" + strconv.FormatUint(stamp, 10) + ","
		}
	}
	view := func(img gateway.FederatedImage) imageView {
		v := calls[img.Provider].listView(img.Image, all[img.Provider])
		v.provider = img.Provider
		return v
	}
	next := ""
	if fp.NextCursor != "" {
		next = c.nextHref(&gateway.ImagePage{NextCursor: fp.NextCursor})
		c.w.Header().Add("Link", "<"+next+`>; rel="next"`)
	}
	key := ""
	if keyable {
		key = "federated|" + c.format + "|" + c.base + "|" + fp.Generation + "|" + stamps + "|" + c.r.URL.RawQuery
		if c.f.answers.SendKept(c.w, c.r, api.Body{Status: http.StatusOK, ContentType: contentType(c.format), Key: key}) {
			return nil // encoded before: nothing to render
		}
	}
	return c.sendKeyed(http.StatusOK, key, func(x *render.XML) {
		x.Start("images")
		for i, img := range imgs {
			view(img).xml(x)
			if i%256 == 255 {
				x.Flush()
			}
		}
		if len(failures) > 0 {
			x.Start("failures")
			for _, fa := range failures {
				x.Text("failure", fa.Message, render.A("provider", fa.Provider), render.A("status", strconv.Itoa(fa.Status)), render.A("code", fa.Code))
			}
			x.End()
		}
		if next != "" {
			x.Empty("link", render.A("rel", "next"), render.A("href", next))
		}
		x.End()
	}, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 32<<10)
		bw.WriteString(`{"images":[`)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for i, img := range imgs {
			if i > 0 {
				bw.WriteString(",")
			}
			if err := enc.Encode(map[string]any{"image": view(img).json()}); err != nil {
				return err
			}
		}
		fb, err := json.Marshal(failures)
		if err != nil {
			return err
		}
		bw.WriteString(`],"failures":`)
		bw.Write(fb)
		if next != "" {
			nb, _ := json.Marshal(next)
			bw.WriteString(`,"next":`)
			bw.Write(nb)
		}
		bw.WriteString("}\n")
		return bw.Flush()
	}, "Images", func(h *render.HTML) {
		h.Header("id", "provider", "name", "description", "owner_id", "architecture", "state")
		for _, img := range imgs {
			h.Row(view(img).href, img.ID, img.Provider, img.Name, img.Description, img.OwnerID, img.Architecture, strings.ToUpper(img.State))
		}
		h.Raw("</table>")
		if len(failures) > 0 {
			h.Raw("<h2>failures</h2><dl>")
			for _, fa := range failures {
				h.Field(fa.Provider, strconv.Itoa(fa.Status)+" "+fa.Message)
			}
			h.Raw("</dl>")
		}
		if next != "" {
			h.Raw("<p>")
			h.Link(next, "next page")
			h.Raw("</p>")
		}
	})
}
