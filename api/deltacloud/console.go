package deltacloud

// The HTML console: what the front's pages show a person in a browser
// (docs/console.md). Every page is server-rendered HTML with the small
// stylesheet below; forms post to the same origin; nothing is fetched from
// anywhere else.

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/render"
)

// consoleCSS is the console's stylesheet, served at /api/console.css.
const consoleCSS = `:root{--fg:#1d232b;--mute:#5b6573;--line:#d7dce2;--bg:#fff;--accent:#0b5cad;--bad:#b3261e;--ok:#146c2e;--warn:#8a5a00}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5em 1.2em;align-items:center;padding:.6em 1em;background:#14315a}
header a{color:#fff;text-decoration:none}header .home{font-weight:700}header nav{display:flex;gap:1em}
main{padding:1em;max-width:70em}
h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.4em 0 .5em}
a{color:var(--accent)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:.4em .6em;text-align:left;vertical-align:top}
th{font-size:.85em;color:var(--mute);font-weight:600}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1em;margin:0}
dt{color:var(--mute)}dd{margin:0;overflow-wrap:anywhere}
form{margin:0}form.inline{display:inline}
fieldset{border:1px solid var(--line);border-radius:6px;margin:0 0 1em;padding:.6em .8em}
legend{font-weight:600}
label{display:inline-flex;flex-direction:column;font-size:.85em;color:var(--mute);margin:0 .6em .4em 0}
input,select,button{font:inherit;padding:.35em .5em;border:1px solid #aab2bd;border-radius:4px;background:#fff;color:var(--fg)}
button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}
button.danger{background:var(--bad);border-color:var(--bad)}
a.button{display:inline-block;padding:.3em .6em;border:1px solid var(--accent);border-radius:4px;text-decoration:none}
.filters{display:flex;flex-wrap:wrap;align-items:flex-end}
.pager{display:flex;gap:1em;margin:1em 0}
.state{font-size:.8em;font-weight:700;padding:.1em .45em;border-radius:4px;background:#e8ebef}
.state.AVAILABLE,.state.SUCCEEDED,.state.RUNNING-instance{background:#dcf2e3;color:var(--ok)}
.state.PENDING,.state.RUNNING{background:#fdf0d5;color:var(--warn)}
.state.FAILED,.state.DELETED{background:#fbe3e1;color:var(--bad)}
.confirm{border:2px solid var(--bad);border-radius:6px;padding:.8em;margin:0 0 1em}
.note{color:var(--mute);font-size:.9em}
ol.log{padding-left:1.4em}ol.log time{color:var(--mute);font-size:.85em;margin-right:.5em}
ul.collections li{margin:.3em 0}
@media (max-width:40em){main{padding:.6em}dl{grid-template-columns:1fr}dt{margin-top:.4em}
.images th:nth-child(n+3):nth-child(-n+5),.images td:nth-child(n+3):nth-child(-n+5){display:none}}
`

// stylesheet answers GET /api/console.css.
func (f *Front) stylesheet(c *call) error {
	c.w.Header().Set("Content-Type", "text/css; charset=utf-8")
	c.w.Header().Set("Cache-Control", "public, max-age=300") // an upgrade shows within minutes
	c.w.Header().Set("Content-Length", strconv.Itoa(len(consoleCSS)))
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write([]byte(consoleCSS))
	}
	return nil
}

// consolePageSize is the page size of the console's image list when the
// request names none.
const consolePageSize = 20

// consoleListDefaults gives an HTML image list without limit or sort the
// console's: pages of consolePageSize, by id. The page then shows its ids
// in natural order (img5 before img10); the catalog's cursor still walks
// ids in byte order from page to page.
func (c *call) consoleListDefaults(q url.Values, o *model.ListOptions) {
	if c.format != fmtHTML {
		return
	}
	if o.Limit == 0 && q.Get("limit") == "" {
		o.Limit = consolePageSize
	}
	if q.Get("sort") == "" {
		o.Sort = []model.SortKey{{Field: model.SortID}}
	}
}

func stateBadge(h *render.HTML, state string) {
	s := strings.ToUpper(state)
	h.Raw(`<span class="state `)
	h.Esc(s)
	h.Raw(`">`)
	h.Esc(s)
	h.Raw(`</span>`)
}

// selectField writes a labelled <select> with an "any" first option.
func selectField(h *render.HTML, label, name, cur string, options [][2]string) {
	h.Raw(`<label>`)
	h.Esc(label)
	h.Raw(` <select name="`)
	h.Esc(name)
	h.Raw(`">`)
	for _, o := range options {
		h.Raw(`<option value="`)
		h.Esc(o[0])
		h.Raw(`"`)
		if o[0] == cur {
			h.Raw(` selected`)
		}
		h.Raw(`>`)
		h.Esc(o[1])
		h.Raw(`</option>`)
	}
	h.Raw(`</select></label>`)
}

// textField writes a labelled text input.
func textField(h *render.HTML, label, name, value, typ string) {
	h.Raw(`<label>`)
	h.Esc(label)
	h.Raw(` <input type="`)
	h.Raw(typ)
	h.Raw(`" name="`)
	h.Esc(name)
	h.Raw(`" value="`)
	h.Esc(value)
	h.Raw(`"></label>`)
}

// imagesHTML is the console's image list: the search box and filters, the
// page's images in natural id order (when listed by id) with their
// actions, and the links to the first and the next page.
func (c *call) imagesHTML(h *render.HTML, p *gateway.ImagePage, next string) {
	q := c.r.URL.Query()
	h.Raw(`<form class="filters" method="get" role="search" action="`)
	h.Esc(c.href("images"))
	h.Raw(`">`)
	textField(h, "Search", "search", q.Get("search"), "search")
	selectField(h, "State", "state", q.Get("state"), [][2]string{{"", "any"}, {"available", "Available"}, {"pending", "Pending"}, {"failed", "Failed"}})
	selectField(h, "Architecture", "architecture", q.Get("architecture"), [][2]string{{"", "any"}, {"x86_64", "x86_64"}, {"i386", "i386"}, {"arm64", "arm64"}})
	textField(h, "Owner", "owner_id", q.Get("owner_id"), "text")
	selectField(h, "Sort by", "sort", q.Get("sort"), [][2]string{{"", "ID"}, {"-created", "Newest first"}, {"created", "Oldest first"}, {"name", "Name"}, {"owner", "Owner"}, {"state", "State"}})
	limit := q.Get("limit")
	if limit == "" {
		limit = strconv.Itoa(consolePageSize)
	}
	selectField(h, "Per page", "limit", limit, [][2]string{{"10", "10"}, {"20", "20"}, {"50", "50"}, {"100", "100"}})
	h.Raw(`<label>&nbsp;<button type="submit">Search</button></label> <label>&nbsp;<a class="button" href="`)
	h.Esc(c.href("images"))
	h.Raw(`">Clear</a></label></form>`)

	order := make([]int, p.Len()) // the gateway's order: ids are natural (img5 before img10)
	for i := range order {
		order[i] = i
	}
	if p.Len() == 0 {
		h.Raw(`<p class="note">No images match.</p>`)
	} else {
		h.Raw(`<div class="images">`)
		h.Header("id", "name", "description", "owner_id", "architecture", "state", "actions")
		for _, i := range order {
			img := p.At(i)
			href := c.href("images", img.ID)
			h.Raw("<tr><td>")
			h.Link(href, img.ID)
			for _, s := range []string{img.Name, img.Description, img.OwnerID, img.Architecture} {
				h.Raw("</td><td>")
				h.Esc(s)
			}
			h.Raw("</td><td>")
			stateBadge(h, img.State)
			h.Raw("</td><td>")
			h.Link(href, "Open")
			h.Raw(" · ")
			h.Link(href+"?confirm=delete", "Delete…")
			h.Raw("</td></tr>\n")
		}
		h.EndTable()
		h.Raw(`</div>`)
	}
	h.Raw(`<nav class="pager">`)
	if q.Get("marker") != "" {
		first := url.Values{}
		for k, v := range q {
			if k != "marker" {
				first[k] = v
			}
		}
		href := c.href("images")
		if len(first) > 0 {
			href += "?" + first.Encode()
		}
		h.Link(href, "« First page")
	}
	if next != "" {
		h.Raw(`<a rel="next" href="`)
		h.Esc(next)
		h.Raw(`">Next page »</a>`)
	}
	h.Raw(`</nav>`)
}

// imagePage is what the console's image page shows beyond the image: the
// job that made it, and whether the page should refresh itself.
type imagePage struct {
	job     model.Job
	refresh bool
	confirm bool
}

// consoleImage looks up the image's job for its page; while the job runs
// (or the image is pending) the answer carries Refresh: 2, so the browser
// reloads it until the job ends.
func (c *call) consoleImage(img model.Image) imagePage {
	var pg imagePage
	if j, err := c.f.gw.Jobs().ForImage(c.r.Context(), c.target, img.ID); err == nil {
		pg.job = j
	}
	pg.refresh = pg.job.State == model.JobRunning || (pg.job.ID == "" && strings.EqualFold(img.State, model.ImagePending))
	pg.confirm = c.r.URL.Query().Get("confirm") == "delete"
	if pg.refresh {
		c.w.Header().Set("Refresh", "2")
	}
	return pg
}

// imageHTML is the console's image page: its fields, its job's progress,
// and a form for each action the driver can do; delete asks to confirm.
func (c *call) imageHTML(h *render.HTML, v imageView, pg imagePage) {
	img := v.img
	if pg.confirm {
		h.Raw(`<section class="confirm"><p>Delete image <strong>`)
		h.Esc(img.ID)
		if img.Name != "" && img.Name != img.ID {
			h.Esc(" (" + img.Name + ")")
		}
		h.Raw(`</strong>? This cannot be undone.</p><form method="post" class="inline" action="`)
		h.Esc(v.href)
		h.Raw(`"><input type="hidden" name="_method" value="delete"><button type="submit" class="danger">Delete image</button></form> `)
		h.Link(v.href, "Cancel")
		h.Raw(`</section>`)
	}
	h.Raw("<dl>")
	h.Field("id", img.ID)
	h.Field("name", img.Name)
	h.Field("description", img.Description)
	h.Raw("<dt>State</dt><dd>")
	stateBadge(h, img.State)
	if img.StateReason != "" {
		h.Raw(" ")
		h.Esc(img.StateReason)
	}
	h.Raw("</dd>")
	h.Field("owner_id", img.OwnerID)
	h.Field("architecture", img.Architecture)
	h.Field("creation_time", creationTime(img.Created))
	h.Field("root_type", img.RootType)
	h.Raw("<dt>Hardware profiles</dt><dd>")
	for i, p := range v.profiles {
		if i > 0 {
			h.Raw(", ")
		}
		text := p.ID
		if text == "" {
			text = "profiles that fit"
		}
		h.Link(p.Href, text)
	}
	h.Raw("</dd></dl>")

	if j := pg.job; j.ID != "" {
		h.Raw(`<section class="job"><h2>Job</h2><p>`)
		h.Esc(render.Label(j.Kind) + " ")
		stateBadge(h, j.State)
		h.Raw(" ")
		h.Link(c.href("jobs", j.ID), "job details")
		h.Raw("</p>")
		if j.Error != "" {
			h.Raw(`<p class="note">`)
			h.Esc(j.Error)
			h.Raw("</p>")
		}
		jobLogHTML(h, j)
		if pg.refresh {
			h.Raw(`<p class="note">This page refreshes itself every 2 seconds until the job ends.</p>`)
		}
		h.Raw("</section>")
	} else if pg.refresh {
		h.Raw(`<p class="note">This page refreshes itself every 2 seconds while the image is pending.</p>`)
	}

	h.Raw(`<h2>Actions</h2>`)
	for _, a := range c.supportedActions() {
		href := v.href + a.suffix
		h.Raw(`<fieldset><legend>`)
		h.Esc(actionTitle(a.rel))
		h.Raw(`</legend><form method="post" class="filters" id="`)
		h.Esc(a.rel)
		h.Raw(`" action="`)
		h.Esc(href)
		h.Raw(`">`)
		if a.method != "post" {
			h.Raw(`<input type="hidden" name="_method" value="`)
			h.Esc(a.method)
			h.Raw(`">`)
		}
		for _, p := range a.params {
			switch {
			case p == "provider" && a.rel == "copy_image":
				var opts [][2]string
				for _, d := range c.copyDestinations() {
					opts = append(opts, [2]string{d, d})
				}
				selectField(h, "To provider", "provider", "", opts)
			case a.rel == "update_image" && p == "name":
				textField(h, "Name", p, img.Name, "text")
			case a.rel == "update_image" && p == "description":
				textField(h, "Description", p, img.Description, "text")
			default:
				textField(h, render.Label(p), p, "", "text")
			}
		}
		h.Raw(`<label>&nbsp;<button type="submit">`)
		h.Esc(render.Label(a.rel))
		h.Raw(`</button></label></form></fieldset>`)
	}
	if !pg.confirm {
		h.Raw(`<p><a class="button" href="`)
		h.Esc(v.href + "?confirm=delete")
		h.Raw(`">Delete…</a></p>`)
	}
}

// actionTitle is the heading of an action's form.
func actionTitle(rel string) string {
	switch rel {
	case "update_image":
		return "Rename or describe"
	case "clone_image":
		return "Clone in this provider"
	case "copy_image":
		return "Copy to another provider"
	case "export_image":
		return "Export"
	}
	return render.Label(rel)
}

func jobLogHTML(h *render.HTML, j model.Job) {
	if len(j.Log) == 0 {
		return
	}
	h.Raw(`<ol class="log">`)
	for _, l := range j.Log {
		h.Raw(`<li><time>`)
		h.Esc(l.Time.UTC().Format(time.TimeOnly))
		h.Raw(`</time>`)
		h.Esc(l.Message)
		h.Raw(`</li>`)
	}
	h.Raw(`</ol>`)
}

// createImageForm is the form that creates an image from an instance.
func (c *call) createImageForm(h *render.HTML, instanceID string) {
	h.Raw(`<fieldset id="create-image"><legend>Create an image from `)
	h.Esc(instanceID)
	h.Raw(`</legend><form method="post" class="filters" action="`)
	h.Esc(c.href("images"))
	h.Raw(`"><input type="hidden" name="instance_id" value="`)
	h.Esc(instanceID)
	h.Raw(`">`)
	textField(h, "Name", "name", "", "text")
	textField(h, "Description", "description", "", "text")
	h.Raw(`<label>&nbsp;<button type="submit">Create image</button></label></form></fieldset>`)
}

// entryHTML is the console's entry page: every collection, the jobs, and a
// search box over the images.
func (c *call) entryHTML(h *render.HTML, links []entryLink) {
	h.Raw(`<p class="note">`)
	h.Esc("Driver " + c.target.Driver + ", provider " + c.target.Provider)
	h.Raw(`</p><form class="filters" method="get" role="search" action="`)
	h.Esc(c.href("images"))
	h.Raw(`">`)
	textField(h, "Search images", "search", "", "search")
	h.Raw(`<label>&nbsp;<button type="submit">Search</button></label></form><ul class="collections">`)
	about := map[string]string{
		"images":            "the catalog: search, create, rename, clone, copy, delete",
		"hardware_profiles": "machine sizes",
		"realms":            "regions and zones",
		"instances":         "running machines, to image",
		"drivers":           "the clouds this gateway serves",
	}
	for _, l := range append(links, entryLink{Rel: "jobs", Href: c.href("jobs")}) {
		h.Raw("<li>")
		h.Link(l.Href, render.Label(l.Rel))
		if a := about[l.Rel]; a != "" {
			h.Raw(` <span class="note">— `)
			h.Esc(a)
			h.Raw(`</span>`)
		} else if l.Rel == "jobs" {
			h.Raw(` <span class="note">— long operations and their progress</span>`)
		}
		h.Raw("</li>")
	}
	h.Raw("</ul>")
}

// jobsHTML is the console's job list, newest first.
func (c *call) jobsHTML(h *render.HTML, jobs []model.Job) {
	jobs = slices.Clone(jobs)
	slices.SortStableFunc(jobs, func(a, b model.Job) int { return b.Created.Compare(a.Created) })
	if len(jobs) == 0 {
		h.Raw(`<p class="note">No jobs yet.</p>`)
		return
	}
	h.Header("job", "kind", "state", "image", "started", "error")
	for _, j := range jobs {
		h.Raw("<tr><td>")
		h.Link(c.href("jobs", j.ID), shortID(j.ID))
		h.Raw("</td><td>")
		h.Esc(render.Label(j.Kind))
		h.Raw("</td><td>")
		stateBadge(h, j.State)
		h.Raw("</td><td>")
		h.Link(c.href("images", j.Target), j.Target)
		h.Raw("</td><td>")
		h.Esc(j.Created.UTC().Format("2006-01-02 15:04:05"))
		h.Raw("</td><td>")
		h.Esc(j.Error)
		h.Raw("</td></tr>\n")
	}
	h.EndTable()
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// jobHTML is the console's job page; while the job runs it refreshes
// itself (the caller sets Refresh).
func (c *call) jobHTML(h *render.HTML, j model.Job) {
	h.Raw("<dl>")
	h.Field("id", j.ID)
	h.Field("kind", render.Label(j.Kind))
	h.Raw("<dt>State</dt><dd>")
	stateBadge(h, j.State)
	h.Raw("</dd><dt>Image</dt><dd>")
	h.Link(c.href("images", j.Target), j.Target)
	h.Raw("</dd>")
	h.Field("error", j.Error)
	h.Field("started", j.Created.UTC().Format(time.RFC3339))
	h.Field("updated", j.Updated.UTC().Format(time.RFC3339))
	h.Raw("</dl><h2>Log</h2>")
	jobLogHTML(h, j)
	if j.State == model.JobRunning {
		h.Raw(`<p class="note">This page refreshes itself every 2 seconds until the job ends.</p>`)
	}
}

// unitText is a profile property's unit as people read it.
func unitText(p model.Property) string {
	switch p.Unit {
	case "count":
		if p.Name == model.PropCPU {
			if p.Kind == model.Fixed && p.Value == "1" {
				return "vCPU"
			}
			return "vCPUs"
		}
		return ""
	case "label":
		return ""
	}
	return p.Unit
}

// nextLinkHTML shows the link to a list's next page, if any.
func nextLinkHTML(h *render.HTML, next string) {
	if next == "" {
		return
	}
	h.Raw(`<nav class="pager"><a rel="next" href="`)
	h.Esc(next)
	h.Raw(`">Next page »</a></nav>`)
}
