package render_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/render"
)

func TestXML(t *testing.T) {
	tests := []struct {
		name  string
		build func(x *render.XML)
		want  string
	}{
		{"empty list self-closes", func(x *render.XML) { x.Start("images"); x.End() }, render.XMLHeader + "<images/>\n"},
		{"attributes keep order and escape", func(x *render.XML) {
			x.Empty("link", render.A("rel", "a&b"), render.A("href", `"q"<`))
		}, render.XMLHeader + `<link rel="a&amp;b" href="&quot;q&quot;&lt;"/>` + "\n"},
		{"members stream with indentation", func(x *render.XML) {
			x.Start("images", render.A("n", "2"))
			for _, id := range []string{"1", "2"} {
				x.Start("image", render.A("id", id))
				x.Text("name", "<"+id+">")
				x.Text("description", "")
				x.Links([]render.Link{{Rel: "destroy_image", Method: "delete", Href: "/i/" + id}})
				x.End()
			}
			x.End()
		}, render.XMLHeader + `<images n="2">
  <image id="1">
    <name>&lt;1&gt;</name>
    <description/>
    <actions>
      <link rel="destroy_image" method="delete" href="/i/1"/>
    </actions>
  </image>
  <image id="2">
    <name>&lt;2&gt;</name>
    <description/>
    <actions>
      <link rel="destroy_image" method="delete" href="/i/2"/>
    </actions>
  </image>
</images>
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			x := render.NewXML(&b)
			tc.build(x)
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
			dec := xml.NewDecoder(&b)
			for {
				_, err := dec.Token()
				if err != nil {
					if err.Error() != "EOF" {
						t.Errorf("not well-formed: %v", err)
					}
					break
				}
			}
		})
	}
}

func TestJSONList(t *testing.T) {
	var b bytes.Buffer
	if err := render.JSONList(&b, "images", []string{}, func(s string) any { return s }); err != nil || b.String() != "{\"images\":[]}\n" {
		t.Errorf("empty: %q %v", b.String(), err)
	}
	b.Reset()
	render.JSONList(&b, "images", []string{"a<b", "c"}, func(s string) any { return map[string]string{"id": s} })
	if got := strings.ReplaceAll(b.String(), "\n", ""); got != `{"images":[{"id":"a<b"},{"id":"c"}]}` {
		t.Errorf("got %s", got)
	}
}
