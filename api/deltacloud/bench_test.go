package deltacloud

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/render"
)

func benchImages(n int) []model.Image {
	imgs := make([]model.Image, n)
	for i := range imgs {
		imgs[i] = model.Image{ID: fmt.Sprintf("img%06d", i), Name: fmt.Sprintf("image-%d", i), Description: "Fedora 10",
			OwnerID: "fedoraproject", Architecture: "x86_64", State: model.ImageAvailable,
			Created: time.Date(2012, 10, 25, 12, 27, 53, 0, time.UTC), RootType: model.RootTransient,
			HardwareProfiles: []string{"m1-small", "m1-large", "m1-xlarge", "opaque"}}
	}
	return imgs
}

// BenchmarkRenderImages renders a 10,000-image list the way GET
// /api/images does, into io.Discard.
func BenchmarkRenderImages(b *testing.B) {
	imgs := benchImages(10000)
	c := &call{base: "http://127.0.0.1:3001/api"}
	b.Run("xml", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			x := render.NewXML(io.Discard)
			x.Start("images")
			for _, img := range imgs {
				c.imageView(img, nil).xml(x)
			}
			x.End()
			if err := x.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			err := render.JSONList(io.Discard, "images", imgs, func(img model.Image) any {
				return map[string]any{"image": c.imageView(img, nil).json()}
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
