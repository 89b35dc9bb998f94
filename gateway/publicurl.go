package gateway

import (
	"fmt"
	"net/url"
	"strings"
)

// validatePublicURL checks the public_url setting: empty, or an absolute
// http(s) URL with a host and no query, fragment or user.
func validatePublicURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("config: public_url %q must be an http or https URL such as https://images.example.com (no query, fragment or user)", s)
	}
	return nil
}

// PublicRoot returns the configured public_url without a trailing slash,
// or "" when links come from each request.
func (c Config) PublicRoot() string { return strings.TrimRight(c.PublicURL, "/") }
