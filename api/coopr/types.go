package coopr

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// typeJSON is an image or hardware type on the wire.
type typeJSON struct {
	Name        string                   `json:"name"`
	Label       *string                  `json:"label,omitempty"`
	Description *string                  `json:"description,omitempty"`
	Icon        *string                  `json:"icon,omitempty"`
	Version     int                      `json:"version"`
	ProviderMap map[string]model.Mapping `json:"providermap"`
}

func toJSON(t model.PortableType) typeJSON {
	pm := t.ProviderMap
	if pm == nil {
		pm = map[string]model.Mapping{}
	}
	return typeJSON{Name: t.Name, Label: t.Label, Description: t.Description, Icon: t.Icon, Version: t.Version, ProviderMap: pm}
}

func (f *Front) list(c *call) error {
	ts, err := f.gw.ListTypes(c.r.Context(), c.tenant, c.kind)
	if err != nil {
		return err
	}
	out := make([]typeJSON, len(ts))
	for i, t := range ts {
		out[i] = toJSON(t)
	}
	return c.sendJSON(out)
}

// version is the path's version, 0 when the path has none; a version
// that cannot exist (0, or too large) is model.NotFound.
func (c *call) version() (int, error) {
	s, ok := mux.Vars(c.r)["version"]
	if !ok {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		return 0, model.Errorf(model.NotFound, "%s %s version %s not found", c.kind.Noun(), c.name, s)
	}
	return v, nil
}

func (f *Front) get(c *call) error {
	v, err := c.version()
	if err != nil {
		return err
	}
	t, err := f.gw.GetType(c.r.Context(), c.tenant, c.kind, c.name, v)
	if err != nil {
		return err
	}
	return c.sendJSON(toJSON(t))
}

func (f *Front) create(c *call) error {
	t, err := c.readType()
	if err != nil {
		return err
	}
	if _, err := f.gw.CreateType(c.r.Context(), c.tenant, c.kind, t); err != nil {
		return err
	}
	return c.ok()
}

func (f *Front) replace(c *call) error {
	t, err := c.readType()
	if err != nil {
		return err
	}
	if t.Name == "" {
		t.Name = c.name
	}
	if t.Name != c.name {
		return model.Errorf(model.InvalidArgument, "name in body (%s) does not match name in path (%s)", t.Name, c.name)
	}
	if _, err := f.gw.ReplaceType(c.r.Context(), c.tenant, c.kind, t); err != nil {
		return err
	}
	return c.ok()
}

func (f *Front) remove(c *call) error {
	v, err := c.version()
	if err != nil {
		return err
	}
	if err := f.gw.DeleteType(c.r.Context(), c.tenant, c.kind, c.name, v); err != nil {
		return err
	}
	return c.ok()
}

func invalid(msg string) error { return model.Errorf(model.InvalidArgument, "invalid input: %s", msg) }

// readType decodes the body as a type, whatever its Content-Type (the
// upstream examples send curl -d's form type). The body's version is
// checked and dropped: the gateway numbers versions.
func (c *call) readType() (model.PortableType, error) {
	if c.r.ContentLength > MaxBody {
		return model.PortableType{}, &http.MaxBytesError{Limit: MaxBody}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, MaxBody))
	if err != nil {
		return model.PortableType{}, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return model.PortableType{}, invalid("empty body")
	}
	var raw struct {
		Name        *string                    `json:"name"`
		Label       *string                    `json:"label"`
		Description *string                    `json:"description"`
		Icon        *string                    `json:"icon"`
		Version     *json.Number               `json:"version"`
		ProviderMap map[string]json.RawMessage `json:"providermap"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return model.PortableType{}, invalid("malformed JSON")
	}
	if dec.More() {
		return model.PortableType{}, invalid("malformed JSON")
	}
	if raw.Version != nil {
		if n, err := strconv.Atoi(raw.Version.String()); err != nil || n < 1 {
			return model.PortableType{}, invalid("version must be an integer of at least 1")
		}
	}
	t := model.PortableType{Label: raw.Label, Description: raw.Description, Icon: raw.Icon, ProviderMap: map[string]model.Mapping{}}
	if raw.Name != nil {
		t.Name = *raw.Name
	}
	for p, v := range raw.ProviderMap {
		var m model.Mapping
		if err := json.Unmarshal(v, &m); err != nil {
			return model.PortableType{}, invalid("providermap " + p + ": " + err.Error())
		}
		t.ProviderMap[strings.ToLower(p)] = m
	}
	if c.r.Method == http.MethodPost || t.Name != "" {
		if !model.ValidTypeName(t.Name) {
			return model.PortableType{}, invalid("name must be 1-255 characters of [A-Za-z0-9_.-]")
		}
	}
	return t, nil
}

// imageJSON is a provider's current view of a resolved image.
type imageJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Architecture string `json:"architecture"`
	State        string `json:"state"`
	OwnerID      string `json:"owner_id"`
	CreationTime string `json:"creation_time,omitempty"`
}

// profileJSON is a provider's view of a resolved hardware profile.
type profileJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// errorJSON is one provider's failure in a resolve across providers.
type errorJSON struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// resolutionJSON is one provider's answer of a resolve.
type resolutionJSON struct {
	Name     string        `json:"name,omitempty"`
	Provider string        `json:"provider"`
	Driver   string        `json:"driver,omitempty"`
	Mapping  model.Mapping `json:"mapping"`
	Image    *imageJSON    `json:"image,omitempty"`
	Profile  *profileJSON  `json:"hardware_profile,omitempty"`
	Error    *errorJSON    `json:"error,omitempty"`
}

func toResolution(kind gateway.TypeKind, r gateway.Resolution) resolutionJSON {
	out := resolutionJSON{Provider: r.Provider, Driver: r.Driver, Mapping: r.Mapping}
	switch {
	case r.Err != nil:
		out.Error = &errorJSON{Status: statusOf(r.Err), Message: messageOf(r.Err)}
	case kind == gateway.HardwareTypes:
		out.Profile = &profileJSON{ID: r.Profile.ID, Name: r.Profile.Name}
	default:
		img := r.Image
		out.Image = &imageJSON{ID: img.ID, Name: img.Name, Description: img.Description, Architecture: img.Architecture,
			State: strings.ToLower(img.State), OwnerID: img.OwnerID}
		if !img.Created.IsZero() {
			out.Image.CreationTime = img.Created.UTC().Format(time.RFC3339)
		}
	}
	return out
}

// resolve is GET /v2/{kind}/{name}/resolve?provider=P, or provider=* for
// every mapped provider at once.
func (f *Front) resolve(c *call) error {
	p := strings.TrimSpace(c.r.URL.Query().Get("provider"))
	if p == "" {
		return model.Errorf(model.InvalidArgument, "provider query parameter is required")
	}
	if p == "*" {
		t, rs, err := f.gw.ResolveTypeAll(c.r.Context(), c.tenant, c.kind, c.name)
		if err != nil {
			return err
		}
		out := struct {
			Name      string                    `json:"name"`
			Providers map[string]resolutionJSON `json:"providers"`
		}{Name: t.Name, Providers: map[string]resolutionJSON{}}
		for _, r := range rs {
			out.Providers[r.Provider] = toResolution(c.kind, r)
		}
		return c.sendJSON(out)
	}
	t, r, err := f.gw.ResolveType(c.r.Context(), c.tenant, c.kind, c.name, p)
	if err != nil {
		return err
	}
	out := toResolution(c.kind, r)
	out.Name = t.Name
	return c.sendJSON(out)
}
