package cloudapi_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/imagegw/imagegw/api/cloudapi/httpsig"
)

// BenchmarkListImages10k is GET /{login}/images over 10,000 synthetic mock
// images, signed, through the whole gateway over loopback HTTP.
func BenchmarkListImages10k(b *testing.B) {
	e := setup(b, "mock_images: 10000\n")
	a := e.alice
	req, _ := http.NewRequest("GET", a.base+"/alice/images", nil)
	req.Header.Set("Accept-Version", "~9||~8")
	if err := httpsig.Sign(req, a.keyID, a.alg, a.signer, httpsig.FormRequestTarget); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || n < 10000*200 {
			b.Fatalf("status %d, %d bytes", res.StatusCode, n)
		}
		b.SetBytes(n)
	}
}
