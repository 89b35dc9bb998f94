package cycle

import _ "embed"

// openAPIDoc is the front's OpenAPI 3.1 document (written by
// scripts/cycle-openapi.py), served at
// GET /v1/openapi.json; the tests validate every answer against it.
//
//go:embed openapi.json
var openAPIDoc []byte
