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
	"unicode/utf8"
)

// Link is an action a client may take on a resource.
type Link struct {
	Rel    string `json:"rel"`
	Method string `json:"method"`
	Href   string `json:"href"`
}

// XMLHeader starts every XML document.
const XMLHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// XML writes one indented XML document straight to its writer, streaming:
// nothing but the stack of open elements is kept, so memory does not grow
// with a list and an element costs no allocation of its own. Output is
// what github.com/beevik/etree writes with two-space indentation: empty
// elements are self-closing (<images/>), text and attribute values are
// escaped the same way. The first error sticks: check Close's result.
type XML struct {
	bw    *bufio.Writer
	stack []openElem
	err   error
}

type openElem struct {
	name     string
	tagOpen  bool // "<name attrs" written, ">" not yet
	children bool
	text     bool
}

// NewXML starts a document on w with the XML declaration.
func NewXML(w io.Writer) *XML {
	bw := bufio.NewWriterSize(w, 32<<10)
	_, err := bw.WriteString(XMLHeader)
	return &XML{bw: bw, err: err, stack: make([]openElem, 0, 8)}
}

// Attr is a name and value; attributes keep the order given.
type Attr = [2]string

// A returns an attribute.
func A(name, value string) Attr { return Attr{name, value} }

const indent = "\n                                                                "

// newline writes a line break and the indentation of depth d.
func (x *XML) newline(d int) {
	if 1+2*d <= len(indent) {
		x.write(indent[:1+2*d])
		return
	}
	x.write("\n" + strings.Repeat("  ", d))
}

// Start opens an element.
func (x *XML) Start(name string, as ...Attr) {
	if n := len(x.stack); n > 0 {
		p := &x.stack[n-1]
		if p.tagOpen {
			x.write(">")
			p.tagOpen = false
		}
		p.children = true
		x.newline(n)
	}
	x.write("<")
	x.write(name)
	for _, a := range as {
		x.write(" ")
		x.write(a[0])
		x.write(`="`)
		x.escape(a[1])
		x.write(`"`)
	}
	x.stack = append(x.stack, openElem{name: name, tagOpen: true})
}

// End closes the innermost open element.
func (x *XML) End() {
	n := len(x.stack)
	if n == 0 {
		return
	}
	e := x.stack[n-1]
	x.stack = x.stack[:n-1]
	switch {
	case e.tagOpen:
		x.write("/>")
	case e.children:
		x.newline(n - 1)
		fallthrough
	default:
		x.write("</")
		x.write(e.name)
		x.write(">")
	}
}

func (x *XML) write(s string) {
	if x.err == nil {
		_, x.err = x.bw.WriteString(s)
	}
}

// escape writes s escaped as etree does for text and attribute values:
// & < > ' " as entities, characters XML cannot carry as U+FFFD.
func (x *XML) escape(s string) {
	last := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		i += width
		var esc string
		switch r {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\'':
			esc = "&apos;"
		case '"':
			esc = "&quot;"
		case '\t', '\n', '\r':
			continue
		default:
			valid := r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
			if valid && !(r == utf8.RuneError && width == 1) {
				continue
			}
			esc = "\uFFFD"
		}
		x.write(s[last : i-width])
		x.write(esc)
		last = i
	}
	x.write(s[last:])
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
		e := &x.stack[len(x.stack)-1]
		x.write(">")
		e.tagOpen, e.text = false, true
		x.escape(text)
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
	for len(x.stack) > 0 {
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
	return JSONPage(w, name, len(items), func(i int) any { return conv(items[i]) }, "")
}

// JSONPage streams {"<name>":[item(0),...,item(n-1)]} to w like JSONList,
// with "next": next after the list when next is not empty.
func JSONPage(w io.Writer, name string, n int, item func(int) any, next string) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	key, _ := json.Marshal(name)
	bw.WriteString(`{`)
	bw.Write(key)
	bw.WriteString(`:[`)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range n {
		if i > 0 {
			bw.WriteString(",")
		}
		if err := enc.Encode(item(i)); err != nil {
			return err
		}
	}
	bw.WriteString("]")
	if next != "" {
		nb, _ := json.Marshal(next)
		bw.WriteString(`,"next":`)
		bw.Write(nb)
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// JSON writes v as one JSON document.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
