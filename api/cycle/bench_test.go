package cycle_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/api/cycle"
	"github.com/imagegw/imagegw/api/server"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// BenchmarkListPage: GET /v1/images?page[size]=100 over 10,000 images,
// in process (no network): the front's own cost per request.
func BenchmarkListPage(b *testing.B) {
	srv := apitest.NewServer(b, gateway.Config{MockImages: 10000})
	ctx := context.Background()
	keys := cycle.NewKeys(srv.Store, srv.Gateway.Secrets())
	h, _ := keys.AddHub(ctx, "b", "mock", "", model.Credentials{User: "mockuser", Password: "mockpassword"})
	_, secret, _ := keys.AddKey(ctx, h.ID, "b", nil, 0)
	res, err := http.Get(srv.URL + "/v1/openapi.json")
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	handler := server.New(srv.Gateway, server.Options{})
	req := httptest.NewRequest("GET", "/v1/images?page%5Bsize%5D=100", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("X-Hub-Id", h.ID)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
