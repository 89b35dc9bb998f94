package render

import (
	"bufio"
	"html"
	"io"
)

// HTML writes a plain HTML page: a title, definition lists, tables, links
// and forms. Every string it is given is escaped.
type HTML struct {
	bw  *bufio.Writer
	err error
}

// NewHTML starts a page with a title and a breadcrumb link to the entry
// point home.
func NewHTML(w io.Writer, title, home string) *HTML {
	h := &HTML{bw: bufio.NewWriterSize(w, 32<<10)}
	h.Raw(`<!DOCTYPE html>` + "\n" + `<html><head><meta charset="utf-8"><title>`)
	h.Esc(title)
	h.Raw(`</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}dt{font-weight:bold}</style></head><body>` + "\n")
	h.Raw(`<p><a href="`)
	h.Esc(home)
	h.Raw(`">imagegw</a></p><h1>`)
	h.Esc(title)
	h.Raw("</h1>\n")
	return h
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

// Field writes one <dt>/<dd> pair; call between Raw("<dl>") and Raw("</dl>").
func (h *HTML) Field(name, value string) {
	h.Raw("<dt>")
	h.Esc(name)
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

// Header writes a table's opening and header row.
func (h *HTML) Header(cells ...string) {
	h.Raw("<table><tr>")
	for _, c := range cells {
		h.Raw("<th>")
		h.Esc(c)
		h.Raw("</th>")
	}
	h.Raw("</tr>\n")
}

// Action writes a button that performs l: a link for GET, otherwise a form
// (DELETE is sent as POST with _method=delete, as browsers cannot send it).
func (h *HTML) Action(l Link) {
	if l.Method == "get" {
		h.Link(l.Href, l.Rel)
		h.Raw(" ")
		return
	}
	h.Raw(`<form method="post" style="display:inline" action="`)
	h.Esc(l.Href)
	h.Raw(`">`)
	if l.Method != "post" {
		h.Raw(`<input type="hidden" name="_method" value="`)
		h.Esc(l.Method)
		h.Raw(`">`)
	}
	h.Raw(`<button type="submit">`)
	h.Esc(l.Rel)
	h.Raw("</button></form> ")
}

// Close ends the page and returns the first error.
func (h *HTML) Close() error {
	h.Raw("</body></html>\n")
	if h.err == nil {
		h.err = h.bw.Flush()
	}
	return h.err
}
