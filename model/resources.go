package model

import "time"

// Realm is a place images and instances live in: an availability zone, a
// datacenter, a cluster.
type Realm struct {
	ID    string
	Name  string
	State string // "AVAILABLE" or "UNAVAILABLE"
	Limit string // "" when unlimited
}

// Instance is a running or stopped machine, shown read-only so that clients
// can find what to make an image from.
type Instance struct {
	ID        string
	Name      string
	OwnerID   string
	ImageID   string
	RealmID   string
	ProfileID string
	// ProfileOverrides are fixed values that differ from the profile's
	// defaults (an m1-large with 12288 MB of memory, say).
	ProfileOverrides []Property
	State            string // "RUNNING", "STOPPED", ...
	PublicAddresses  []string
	PrivateAddresses []string
	// CanCreateImage says whether an image can be made from the instance now.
	CanCreateImage bool
	Created        time.Time
	Native         map[string]string
}

// Credentials are what a client or the operator gives a driver to act as
// someone in the cloud: for the native front, HTTP Basic user and password.
type Credentials struct {
	User     string
	Password string
}

// Empty reports whether no credentials were given.
func (c Credentials) Empty() bool { return c.User == "" && c.Password == "" }

// ProviderConfig is one provider the operator configured: a name clients
// select it by, the driver that serves it, and the driver's own keys from the
// configuration file (region, endpoint, url, ...), still undecoded.
type ProviderConfig struct {
	Name     string
	Driver   string
	Settings map[string]any
	// RequestTimeout bounds one request's cloud work through this provider,
	// the SDK's retries included (the gateway-level key request_timeout;
	// zero means the gateway's default). It is not a driver setting.
	RequestTimeout time.Duration
	// Origin says where the configuration set each key ("imagegw.yaml line
	// 7"), for error messages; nil when unknown.
	Origin map[string]string
}

// Where returns where key was set ("imagegw.yaml line 7"), or "".
func (p ProviderConfig) Where(key string) string { return p.Origin[key] }

// Setting returns the string value of a driver key, or "".
func (p ProviderConfig) Setting(key string) string {
	if v, ok := p.Settings[key]; ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return ""
}

// DriverInfo describes a registered and enabled driver.
type DriverInfo struct {
	ID        string   // lower case: "ec2"
	Name      string   // display: "EC2"
	Providers []string // configured provider names, in configuration order
}
