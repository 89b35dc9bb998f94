package api

import (
	"bytes"
	"strings"
)

// LooksLikeJSON reports whether a body (or a form key parsed from one)
// starts like a JSON object or array: what `curl -d '{...}'` sends with
// its default Content-Type, application/x-www-form-urlencoded.
func LooksLikeJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// JSONKind names the kind of a value decoded from JSON, for an error
// saying what was expected instead: "an array", "a string", ...
func JSONKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// MislabeledJSON is the message for a JSON body sent as another media
// type (mediaType, the Content-Type's), or "" when the body does not look
// like JSON.
func MislabeledJSON(body []byte, mediaType string) string {
	if !LooksLikeJSON(body) || strings.Contains(mediaType, "json") {
		return ""
	}
	if mediaType == "" {
		return "the body looks like JSON but has no Content-Type; send Content-Type: application/json"
	}
	return "the body looks like JSON but Content-Type is " + mediaType + " (what curl -d sends); send Content-Type: application/json"
}
