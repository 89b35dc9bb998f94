package ec2

import "net/http"

// SetTestTransport makes the providers named name that open from now on
// send their EC2 requests through wrap(transport). The returned function
// removes the hook.
func SetTestTransport(name string, wrap func(http.RoundTripper) http.RoundTripper) (remove func()) {
	testTransports.Store(name, wrap)
	return func() { testTransports.Delete(name) }
}
