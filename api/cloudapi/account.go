package cloudapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/accounts"
	"github.com/imagegw/imagegw/api/cloudapi/apiversion"
)

type pingJSON struct {
	Ping     string `json:"ping"`
	CloudAPI struct {
		Versions []string `json:"versions"`
	} `json:"cloudapi"`
}

// ping needs no auth and no version.
func (f *Front) ping(c *call) error {
	var p pingJSON
	p.Ping = "pong"
	p.CloudAPI.Versions = apiversion.Supported
	return c.sendJSON(http.StatusOK, p)
}

// accountJSON is the CloudAPI Account: never the credentials.
type accountJSON struct {
	ID    string `json:"id"`
	Login string `json:"login"`
	Email string `json:"email"`
	accounts.Profile
	Created string `json:"created"`
	Updated string `json:"updated"`
}

func (f *Front) getAccount(c *call) error {
	a := c.acct
	return c.sendJSON(http.StatusOK, accountJSON{ID: a.ID, Login: a.Login, Email: a.Email, Profile: a.Profile,
		Created: a.Created.UTC().Format(time.RFC3339), Updated: a.Updated.UTC().Format(time.RFC3339)})
}

// datacenters are the selected driver's providers with a CloudAPI URL;
// without any, the current provider at the URL the request came to.
func (c *call) datacenters() map[string]string {
	out := map[string]string{}
	for name, u := range c.f.datacenters {
		if pc, err := c.f.gw.ProviderConfig(name); err == nil && pc.Driver == c.target.Driver {
			out[name] = u
		}
	}
	if len(out) == 0 {
		if pub := c.f.gw.Config().PublicRoot(); pub != "" {
			out[c.target.Provider] = pub
			return out
		}
		scheme := "http"
		if c.r.TLS != nil {
			scheme = "https"
		}
		out[c.target.Provider] = scheme + "://" + c.r.Host
	}
	return out
}

func (f *Front) listDatacenters(c *call) error {
	// encoding/json writes the names sorted
	return c.sendJSON(http.StatusOK, c.datacenters())
}

func (f *Front) getDatacenter(c *call) error {
	name := strings.ToLower(mux.Vars(c.r)["name"])
	u, ok := c.datacenters()[name]
	if !ok {
		return notFound(name + " is not a valid datacenter")
	}
	c.w.Header().Set("Location", u)
	return c.sendJSON(http.StatusFound, apiError{Code: "ResourceMoved", Message: name + " " + u})
}
