package render

import (
	"bufio"
	"html"
	"io"
	"strings"
)

// HTML writes a plain HTML page: a title, definition lists, tables, links
// and forms. Every string it is given is escaped.
type HTML struct {
	bw  *bufio.Writer
	err error
}

// NewHTML starts a console page: a title, the stylesheet the gateway
// serves at home+"/console.css", and a header linking home, the images and
// the jobs. Pages are plain server-rendered HTML that read on a phone
// (a viewport meta, no scripts, no external assets: even the icon is an
// empty data: URL, so that a browser asks for no /favicon.ico).
func NewHTML(w io.Writer, title, home string) *HTML {
	h := &HTML{bw: bufio.NewWriterSize(w, 32<<10)}
	h.Raw(`<!DOCTYPE html>` + "\n" + `<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>`)
	h.Esc(title)
	h.Raw(` · imagegw</title><link rel="icon" href="data:,"><link rel="stylesheet" href="`)
	h.Esc(home + "/console.css")
	h.Raw(`"></head><body>` + "\n" + `<header><a class="home" href="`)
	h.Esc(home)
	h.Raw(`">imagegw</a> <nav><a href="`)
	h.Esc(home + "/images")
	h.Raw(`">Images</a> <a href="`)
	h.Esc(home + "/jobs")
	h.Raw(`">Jobs</a></nav></header><main><h1>`)
	h.Esc(title)
	h.Raw("</h1>\n")
	return h
}

// labels are the words people read for the API's names.
var labels = map[string]string{
	"id": "ID", "owner_id": "Owner", "creation_time": "Created", "root_type": "Root type",
	"architecture": "Architecture", "hardware_profiles": "Hardware profiles", "hardware_profile": "Hardware profile",
	"destroy_image": "Delete", "update_image": "Save", "clone_image": "Clone", "copy_image": "Copy",
	"export_image": "Export", "create_image": "Create image", "cpu": "CPU", "public_addresses": "Public addresses",
	"private_addresses": "Private addresses", "image_path": "Image path", "base_url": "Base URL", "manifest_path": "Manifest path",
}

// Label is how the console names an API term: "owner_id" reads "Owner",
// "destroy_image" reads "Delete", anything else has its underscores made
// spaces and its first letter capitalized.
func Label(s string) string {
	if l, ok := labels[s]; ok {
		return l
	}
	s = strings.ReplaceAll(s, "_", " ")
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// Raw writes trusted markup.
func (h *HTML) Raw(s string) {
	if h.err == nil {
		_, h.err = h.bw.WriteString(s)
	}
}

// Esc writes escaped text.
func (h *HTML) Esc(s string) { h.Raw(html.EscapeString(s)) }

// Link writes <a href>text</a>.
func (h *HTML) Link(href, text string) {
	h.Raw(`<a href="`)
	h.Esc(href)
	h.Raw(`">`)
	h.Esc(text)
	h.Raw(`</a>`)
}

// Field writes one <dt>/<dd> pair, the name as its Label; call between Raw("<dl>") and Raw("</dl>").
func (h *HTML) Field(name, value string) {
	h.Raw("<dt>")
	h.Esc(Label(name))
	h.Raw("</dt><dd>")
	h.Esc(value)
	h.Raw("</dd>\n")
}

// Row writes a table row of escaped cells; the first cell links to href
// when href is not empty.
func (h *HTML) Row(href string, cells ...string) {
	h.Raw("<tr>")
	for i, c := range cells {
		h.Raw("<td>")
		if i == 0 && href != "" {
			h.Link(href, c)
		} else {
			h.Esc(c)
		}
		h.Raw("</td>")
	}
	h.Raw("</tr>\n")
}

// Header writes a table's opening and header row, each cell's Label.
// The table scrolls sideways on a narrow screen.
func (h *HTML) Header(cells ...string) {
	h.Raw(`<div class="scroll"><table><tr>`)
	for _, c := range cells {
		h.Raw("<th>")
		h.Esc(Label(c))
		h.Raw("</th>")
	}
	h.Raw("</tr>\n")
}

// EndTable closes a table that Header opened.
func (h *HTML) EndTable() { h.Raw("</table></div>\n") }

// Action writes a button, labelled with its Label, that performs l: a link
// for GET, otherwise a same-origin form (DELETE is sent as POST with
// _method=delete, as browsers cannot send it).
func (h *HTML) Action(l Link) {
	if l.Method == "get" {
		h.Link(l.Href, Label(l.Rel))
		h.Raw(" ")
		return
	}
	h.Raw(`<form method="post" class="inline" action="`)
	h.Esc(l.Href)
	h.Raw(`">`)
	if l.Method != "post" {
		h.Raw(`<input type="hidden" name="_method" value="`)
		h.Esc(l.Method)
		h.Raw(`">`)
	}
	h.Raw(`<button type="submit">`)
	h.Esc(Label(l.Rel))
	h.Raw("</button></form> ")
}

// Close ends the page and returns the first error.
func (h *HTML) Close() error {
	h.Raw("</main></body></html>\n")
	if h.err == nil {
		h.err = h.bw.Flush()
	}
	return h.err
}
