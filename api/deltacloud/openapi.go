package deltacloud

import (
	_ "embed"
	"encoding/json"
	"io"
	"net/http"

	"github.com/imagegw/imagegw/api"
)

// openAPIDoc is the OpenAPI 3.1 document of the front's JSON form. Tests
// validate every response they receive against it (openapi_test.go), so
// it changes with the code.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPITop is openAPIDoc's top-level members, parsed once.
var openAPITop = func() map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(openAPIDoc, &m); err != nil {
		panic("deltacloud: openapi.json: " + err.Error()) // caught by every test
	}
	return m
}()

// openAPI answers GET /api/openapi.json: the document, with its server
// URL set to this request's /api (and selection), always as JSON.
func (f *Front) openAPI(c *call) error {
	doc := make(map[string]json.RawMessage, len(openAPITop))
	for k, v := range openAPITop {
		doc[k] = v
	}
	servers, err := json.Marshal([]map[string]string{{"url": c.base}})
	if err != nil {
		return err
	}
	doc["servers"] = servers
	return api.Send(c.w, c.r, http.StatusOK, "application/json", func(w io.Writer) error {
		return json.NewEncoder(w).Encode(doc)
	})
}
