package deltacloud

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/imagegw/imagegw/model"
)

// safeMethods change nothing; every other method must come from the
// gateway's own pages when a browser sends it.
var safeMethods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodOptions: true}

// sameOrigin refuses an unsafe request that a browser sent from another
// site: a browser keeps HTTP Basic credentials for the gateway's origin and
// would send them with a form or fetch another site makes it submit. What
// a browser says decides, in order: Sec-Fetch-Site (same-origin, or none
// for a request the user made, pass; same-site and cross-site do not),
// else Origin (it must be the gateway's own scheme://host, "null" never
// is). Requests with neither header (curl, SDKs) are not a browser's and
// pass. The gateway's origin is public_url's when set, else the request's
// as links are built.
func (c *call) sameOrigin() error {
	if safeMethods[c.r.Method] {
		return nil
	}
	if site := strings.ToLower(strings.TrimSpace(c.r.Header.Get("Sec-Fetch-Site"))); site != "" {
		if site == "same-origin" || site == "none" {
			return nil
		}
		return model.Errorf(model.PermissionDenied, "cross-site request refused: %s from a page of another site (Sec-Fetch-Site: %s); use the gateway's own pages", c.r.Method, site)
	}
	origin := strings.TrimSpace(c.r.Header.Get("Origin"))
	if origin == "" {
		return nil
	}
	if origin != "null" && strings.EqualFold(origin, originOf(c.root)) {
		return nil
	}
	return model.Errorf(model.PermissionDenied, "cross-site request refused: %s from origin %s, not %s", c.r.Method, origin, originOf(c.root))
}

// originOf is the scheme://host of a root URL (without a path prefix).
func originOf(root string) string {
	u, err := url.Parse(root)
	if err != nil {
		return root
	}
	return u.Scheme + "://" + u.Host
}
