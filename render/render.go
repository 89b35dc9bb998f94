// Package render writes representations: streaming XML (an encoding/xml
// token writer), streaming JSON lists, and plain HTML pages, plus the action
// link type every representation carries. It decides formats, not what a
// resource contains: the fronts do that.
package render

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"

	"github.com/beevik/etree"
)

// Link is an action a client may take on a resource.
type Link struct {
	Rel    string `json:"rel"`
	Method string `json:"method"`
	Href   string `json:"href"`
}

// XMLHeader starts every XML document.
const XMLHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// XML writes one indented XML document with github.com/beevik/etree,
// streaming it: each child of the document element is built as a small
// etree tree and written out (then dropped) as soon as it is closed, so
// memory does not grow with a list. Empty elements are self-closing
// (<images/>). The first error sticks: check Close's result.
type XML struct {
	bw       *bufio.Writer
	root     *etree.Element // the document element, until it is closed
	cur      *etree.Element
	rootOpen bool // the document element's start tag is written
	err      error
}

var (
	writeSettings  = etree.WriteSettings{}
	indentSettings = &etree.IndentSettings{Spaces: 2}
)

// NewXML starts a document on w with the XML declaration.
func NewXML(w io.Writer) *XML {
	bw := bufio.NewWriterSize(w, 32<<10)
	_, err := bw.WriteString(XMLHeader)
	return &XML{bw: bw, err: err}
}

// Attr is a name and value; attributes keep the order given.
type Attr = [2]string

// A returns an attribute.
func A(name, value string) Attr { return Attr{name, value} }

// Start opens an element.
func (x *XML) Start(name string, as ...Attr) {
	var e *etree.Element
	if x.cur == nil {
		e = etree.NewElement(name)
		x.root = e
	} else {
		e = x.cur.CreateElement(name)
	}
	for _, a := range as {
		e.CreateAttr(a[0], a[1])
	}
	x.cur = e
}

// End closes the innermost open element, writing it out if it is a child
// of the document element or the document element itself.
func (x *XML) End() {
	e := x.cur
	if e == nil {
		return
	}
	parent := e.Parent()
	switch {
	case e == x.root:
		if x.rootOpen {
			x.write("\n</" + e.Tag + ">")
		} else {
			e.IndentWithSettings(indentSettings)
			x.writeElem(e)
		}
		x.root, parent = nil, nil
	case parent == x.root:
		if !x.rootOpen {
			x.openRoot()
		}
		wrap := etree.NewElement("w")
		wrap.AddChild(e) // detaches e from the document element
		wrap.IndentWithSettings(indentSettings)
		x.write("\n  ")
		x.writeElem(e)
	}
	x.cur = parent
}

// openRoot writes the document element's start tag.
func (x *XML) openRoot() {
	start := x.root.Copy()
	for len(start.Child) > 0 {
		start.RemoveChildAt(0)
	}
	var b strings.Builder
	bw := bufio.NewWriter(&b)
	start.WriteTo(bw, &etree.WriteSettings{CanonicalEndTags: true})
	bw.Flush()
	x.write(strings.TrimSuffix(b.String(), "</"+start.Tag+">"))
	x.rootOpen = true
}

func (x *XML) write(s string) {
	if x.err == nil {
		_, x.err = x.bw.WriteString(s)
	}
}

func (x *XML) writeElem(e *etree.Element) {
	if x.err == nil {
		e.WriteTo(x.bw, &writeSettings)
	}
}

// Empty writes an element with attributes and no content.
func (x *XML) Empty(name string, as ...Attr) {
	x.Start(name, as...)
	x.End()
}

// Text writes <name>text</name>; an empty text gives an empty element.
func (x *XML) Text(name, text string, as ...Attr) {
	x.Start(name, as...)
	if text != "" {
		x.cur.SetText(text)
	}
	x.End()
}

// Links writes <actions> with one <link rel method href/> per action.
func (x *XML) Links(links []Link) {
	x.Start("actions")
	for _, l := range links {
		x.Empty("link", A("rel", l.Rel), A("method", l.Method), A("href", l.Href))
	}
	x.End()
}

// Flush writes what is complete through to the underlying writer.
func (x *XML) Flush() {
	if x.err == nil {
		x.err = x.bw.Flush()
	}
}

// Close ends open elements, flushes, and returns the first error.
func (x *XML) Close() error {
	for x.cur != nil {
		x.End()
	}
	x.write("\n")
	x.Flush()
	return x.err
}

// Err returns the first error.
func (x *XML) Err() error { return x.err }

// JSONList streams {"<name>":[item,item,...]} to w, encoding one item at a
// time so that memory does not grow with the list.
func JSONList[T any](w io.Writer, name string, items []T, conv func(T) any) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	key, _ := json.Marshal(name)
	bw.WriteString(`{`)
	bw.Write(key)
	bw.WriteString(`:[`)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i, it := range items {
		if i > 0 {
			bw.WriteString(",")
		}
		if err := enc.Encode(conv(it)); err != nil {
			return err
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// JSON writes v as one JSON document.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
