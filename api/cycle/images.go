package cycle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// Overlay fields (model.ImageMeta.Fields) the front keeps about images.
const (
	fSource     = "cycle.source"      // native id of the instance it was made from
	fSourceType = "cycle.source_type" // "direct"
	fCreator    = "cycle.creator"     // id of the API key that made it
	fHub        = "cycle.hub"         // hub it was made in
	fBuild      = "cycle.build"       // the create request's build, as JSON
	fBuildLog   = "cycle.build_log"   // ObjectID of its build log
	fState      = "cycle.state"       // "deleting" while a delete job runs, "downloading" for a copy
	fChanged    = "cycle.changed"     // when fState was set (RFC 3339)
	fUpdated    = "cycle.updated"     // last PATCH (RFC 3339)
	fFileName   = "cycle.file_name"   // native name before an overlay rename
)

// Cycle image states.
const (
	stNew         = "new"
	stBuilding    = "building"
	stDownloading = "downloading"
	stLive        = "live"
	stDeleting    = "deleting"
	stDeleted     = "deleted"
)

var zeroTime = time.Time{}.UTC()

// ts formats a time as the spec does: RFC 3339 UTC, the zero time for
// one that has not happened.
type ts time.Time

func (t ts) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(time.RFC3339) + `"`), nil
}

type imageJSON struct {
	ID       string          `json:"id"`
	HubID    string          `json:"hub_id"`
	Name     string          `json:"name"`
	Size     int64           `json:"size"`
	About    aboutJSON       `json:"about"`
	Backend  backendJSON     `json:"backend"`
	Requires struct{}        `json:"requires"`
	Build    json.RawMessage `json:"build"`
	Builder  *struct{}       `json:"builder"`
	Factory  *struct{}       `json:"factory"`
	Source   *sourceRef      `json:"source,omitempty"`
	Creator  *creatorRef     `json:"creator,omitempty"`
	Config   configJSON      `json:"config"`
	State    stateJSON       `json:"state"`
	Events   eventsJSON      `json:"events"`
	Meta     *imageMetaJSON  `json:"meta,omitempty"`
}

type aboutJSON struct {
	Description *string `json:"description"`
}

type backendJSON struct {
	Provider string `json:"provider"`
	Size     int64  `json:"size"`
	FileName string `json:"file_name"`
	FileID   string `json:"file_id"`
}

// sourceRef is an image's source. Upstream's DirectImageSource schema
// requires id and origin at its top level as well as in details, so both
// are given: a client validating against upstream's document accepts it.
type sourceRef struct {
	Type    string `json:"type"`
	Details struct {
		ID     string     `json:"id"`
		Origin originJSON `json:"origin"`
	} `json:"details"`
	ID     string     `json:"id"`
	Origin originJSON `json:"origin"`
}

type originJSON struct {
	Type string `json:"type"`
}

type creatorRef struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type configJSON struct {
	User       string            `json:"user"`
	Ports      []string          `json:"ports"`
	Env        map[string]string `json:"env"`
	Labels     map[string]string `json:"labels"`
	Command    []string          `json:"command"`
	Entrypoint []string          `json:"entrypoint"`
	Volumes    []string          `json:"volumes"`
	Workdir    string            `json:"workdir"`
	SignalStop string            `json:"signal_stop"`
}

type stateJSON struct {
	Current string         `json:"current"`
	Changed ts             `json:"changed"`
	Error   *stateErrorObj `json:"error,omitempty"`
}

type stateErrorObj struct {
	Message string `json:"message"`
	Time    ts     `json:"time"`
}

type eventsJSON struct {
	Created ts `json:"created"`
	Updated ts `json:"updated"`
	Deleted ts `json:"deleted"`
}

type imageMetaJSON struct {
	ContainersCount *containersCount `json:"containers_count,omitempty"`
}

type containersCount struct {
	State     map[string]int `json:"state"`
	Total     int            `json:"total"`
	Available int            `json:"available"`
}

func field(img *model.Image, k string) string {
	if img.Meta == nil {
		return ""
	}
	return img.Meta.Fields[k]
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// cycleState maps an image to its Cycle state (spec decision 4).
func cycleState(img *model.Image) string {
	switch field(img, fState) {
	case stDeleting:
		return stDeleting
	case stDownloading:
		if !img.Terminal() {
			return stDownloading
		}
	}
	switch strings.ToUpper(img.State) {
	case model.ImageAvailable:
		return stLive
	case model.ImageFailed, model.ImageDeleted, "DEREGISTERED":
		return stDeleted
	case "DELETING":
		return stDeleting
	case "IMPORTING", "COPYING", "DOWNLOADING", "UPLOADING":
		return stDownloading
	}
	if !img.Terminal() {
		return stBuilding
	}
	return stLive
}

// statesFor maps Cycle states to the native states they stand for.
var statesFor = map[string][]string{
	stNew:         {"QUEUED"},
	stBuilding:    {model.ImagePending, "SAVING", "CREATING"},
	stDownloading: {"IMPORTING", "COPYING", "DOWNLOADING", "UPLOADING"},
	stLive:        {model.ImageAvailable, model.ImageDisabled},
	stDeleting:    {"DELETING"},
	stDeleted:     {model.ImageFailed, model.ImageDeleted, "DEREGISTERED"},
}

// render is one image in the spec's shape.
func (c *call) render(img *model.Image, id string) imageJSON {
	t := c.sess.Target
	out := imageJSON{
		ID: id, HubID: c.hub.ID, Name: img.Name, Size: img.SizeBytes,
		Backend: backendJSON{Provider: t.Driver + "/" + t.Provider, Size: img.SizeBytes, FileName: img.Name, FileID: img.ID},
		Build:   json.RawMessage("null"),
		Config: configJSON{Ports: []string{}, Env: map[string]string{}, Labels: map[string]string{},
			Command: []string{}, Entrypoint: []string{}, Volumes: []string{}},
	}
	if out.Name == "" {
		out.Name = img.ID
	}
	if img.Meta != nil && img.Meta.Name != nil {
		out.Backend.FileName = field(img, fFileName)
	}
	if img.Description != "" {
		d := img.Description
		out.About.Description = &d
	}
	for k, v := range img.Tags {
		out.Config.Labels[k] = v
	}
	if b := field(img, fBuild); b != "" && json.Valid([]byte(b)) {
		out.Build = json.RawMessage(b)
	}
	if src := field(img, fSource); src != "" {
		out.Source = &sourceRef{Type: "direct"}
		out.Source.Details.ID = c.sess.ID(gateway.SchemeObjectID, gateway.KindInstances, src)
		out.Source.Details.Origin.Type = "none"
		out.Source.ID, out.Source.Origin = out.Source.Details.ID, out.Source.Details.Origin
	}
	if k := field(img, fCreator); k != "" {
		out.Creator = &creatorRef{ID: k, Type: "api-key"}
	}
	created := img.Created
	updated := created
	if u := parseTime(field(img, fUpdated)); u.After(updated) {
		updated = u
	}
	changed := created
	if ch := parseTime(field(img, fChanged)); !ch.IsZero() {
		changed = ch
	}
	out.State = stateJSON{Current: cycleState(img), Changed: ts(changed)}
	if strings.EqualFold(img.State, model.ImageFailed) {
		msg := img.StateReason
		if msg == "" {
			msg = "image creation failed"
		}
		out.State.Error = &stateErrorObj{Message: msg, Time: ts(changed)}
	}
	out.Events = eventsJSON{Created: ts(created), Updated: ts(updated), Deleted: ts(zeroTime)}
	return out
}

// listParams are the list's query keys, besides filter[…].
var listParams = map[string]bool{"sort": true, "page[number]": true, "page[size]": true, "include": true, "meta": true}

var filterKeys = map[string]bool{"identifier": true, "search": true, "state": true, "source_type": true, "source_id": true}

var includeKeys = []string{"creators", "stack_builds", "stacks", "sources", "integrations"}

// pointer is the JSON pointer of a query key: filter[foo] → /filter/foo.
func pointer(key string) string {
	p := strings.NewReplacer("[", "/", "]", "").Replace(key)
	return "/" + strings.TrimPrefix(p, "/")
}

func badQuery(key, detail string) *cyErr {
	return newErr(400, "400.invalid-syntax", detail).at(pointer(key))
}

// view is what include and meta ask for.
type view struct {
	include []string
	meta    bool
}

func parseView(q url.Values) (view, error) {
	var v view
	if vals, ok := q["include"]; ok {
		for _, s := range strings.Split(strings.Join(vals, ","), ",") {
			s = strings.TrimSpace(s)
			if !slices.Contains(includeKeys, s) {
				return v, badQuery("include", fmt.Sprintf("include: unknown value %q; use %s", s, strings.Join(includeKeys, ", ")))
			}
			if !slices.Contains(v.include, s) {
				v.include = append(v.include, s)
			}
		}
	}
	if vals, ok := q["meta"]; ok {
		for _, s := range strings.Split(strings.Join(vals, ","), ",") {
			if strings.TrimSpace(s) != "containers_count" {
				return v, badQuery("meta", fmt.Sprintf("meta: unknown value %q; use containers_count", s))
			}
		}
		v.meta = true
	}
	return v, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// idsOf returns the native ids of the images q selects (in the catalog).
func (c *call) idsOf(q model.ImageQuery) ([]string, error) {
	p, err := c.sess.QueryImages(c.ctx, q, model.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]string, p.Len())
	for i := range out {
		out[i] = p.At(i).ID
	}
	return out, nil
}

// idsInStates returns the ids of the images whose Cycle state is one of
// states: the native states each stands for, with the images this front
// marks deleting (or downloading, while a copy is pending) moved to that
// state.
func (c *call) idsInStates(key string, states []string) ([]string, error) {
	var native []string
	want := map[string]bool{}
	for _, v := range states {
		st, ok := statesFor[v]
		if !ok {
			return nil, badQuery(key, fmt.Sprintf("filter[state]: unknown state %q", v))
		}
		native = append(native, st...)
		want[v] = true
	}
	var set []string
	if len(native) > 0 {
		var err error
		if set, err = c.idsOf(model.ImageQuery{States: native}); err != nil {
			return nil, err
		}
	}
	for _, marker := range []string{stDeleting, stDownloading} {
		q := model.ImageQuery{Fields: map[string]string{fState: marker}}
		if marker == stDownloading {
			q.States = statesFor[stBuilding]
		}
		marked, err := c.idsOf(q)
		if err != nil {
			return nil, err
		}
		set = slices.DeleteFunc(set, func(id string) bool { return slices.Contains(marked, id) })
		if want[marker] {
			set = append(set, marked...)
		}
	}
	if set == nil {
		set = []string{}
	}
	return set, nil
}

// narrow intersects the id set so far (nil: no restriction yet) with ids.
func narrow(set []string, ids []string) []string {
	if set == nil {
		return ids
	}
	return slices.DeleteFunc(set, func(s string) bool { return !slices.Contains(ids, s) })
}

// parseList turns the list's query into a portable query and list options.
func (c *call) parseList(q url.Values) (model.ImageQuery, model.ListOptions, error) {
	var iq model.ImageQuery
	var o model.ListOptions
	var ids []string // set by identifier and source_id: the ids they allow
	for key, vals := range q {
		if listParams[key] {
			if len(vals) > 1 {
				return iq, o, badQuery(key, key+" is given more than once")
			}
			continue
		}
		name, ok := strings.CutPrefix(key, "filter[")
		name, ok2 := strings.CutSuffix(name, "]")
		if !ok || !ok2 || !filterKeys[name] {
			return iq, o, badQuery(key, fmt.Sprintf("unknown query parameter %q", key))
		}
		if len(vals) > 1 {
			return iq, o, badQuery(key, key+" is given more than once")
		}
		values := splitList(vals[0])
		switch name {
		case "identifier":
			set := slices.Clone(values)
			for _, v := range values {
				named, err := c.idsOf(model.ImageQuery{Name: v})
				if err != nil {
					return iq, o, err
				}
				set = append(set, named...)
			}
			ids = narrow(ids, set)
		case "search":
			iq.Search = vals[0]
		case "state":
			set, err := c.idsInStates(key, values)
			if err != nil {
				return iq, o, err
			}
			ids = narrow(ids, set)
		case "source_type":
			direct := false
			for _, v := range values {
				switch v {
				case "direct":
					direct = true
				case "stack-build", "bucket":
				default:
					return iq, o, badQuery(key, fmt.Sprintf("filter[source_type]: unknown type %q; use direct, stack-build or bucket", v))
				}
			}
			if !direct {
				ids = []string{} // only direct sources exist here
			} else {
				if iq.Fields == nil {
					iq.Fields = map[string]string{}
				}
				iq.Fields[fSourceType] = "direct"
			}
		case "source_id":
			var set []string
			for _, v := range values {
				native := v
				if gateway.IsObjectID(v) {
					if n, err := c.sess.ResolveInstance(c.ctx, gateway.SchemeObjectID, v); err == nil {
						native = n
					} else if !model.IsNotFound(err) {
						return iq, o, err
					}
				}
				made, err := c.idsOf(model.ImageQuery{Fields: map[string]string{fSource: native}})
				if err != nil {
					return iq, o, err
				}
				set = append(set, made...)
			}
			ids = narrow(ids, set)
		}
	}
	if ids != nil {
		iq.IDs = ids
		if len(ids) == 0 {
			iq.IDs = []string{"\x00none"} // selects nothing
		}
	}
	// sort
	spec := "-created"
	if v, ok := q["sort"]; ok {
		spec = v[0]
	}
	for _, f := range strings.Split(spec, ",") {
		f = strings.TrimSpace(f)
		k := model.SortKey{}
		if d, ok := strings.CutPrefix(f, "-"); ok {
			k.Desc, f = true, d
		} else {
			f = strings.TrimPrefix(f, "+")
		}
		switch f {
		case "id":
			k.Field = model.SortID
		case "name":
			k.Field = model.SortName
		case "size":
			k.Field = model.SortSize
		case "state":
			k.Field = model.SortState
		case "created", "updated":
			k.Field = model.SortCreated
		default:
			return iq, o, badQuery("sort", fmt.Sprintf("sort: unknown field %q; sort by id, name, size, state, created or updated, - for descending", f))
		}
		o.Sort = append(o.Sort, k)
	}
	// page
	num, size := 0, 0
	_, hasNum := q["page[number]"]
	_, hasSize := q["page[size]"]
	if hasNum || hasSize {
		num, size = 1, 20
	}
	if hasNum {
		n, err := strconv.Atoi(q.Get("page[number]"))
		if err != nil || n < 1 || n > 1<<24 {
			return iq, o, badQuery("page[number]", "page[number] must be a whole number from 1 to 16777216")
		}
		num = n
	}
	if hasSize {
		n, err := strconv.Atoi(q.Get("page[size]"))
		if err != nil || n < 1 || n > 100 {
			return iq, o, badQuery("page[size]", "page[size] must be a whole number from 1 to 100")
		}
		size = n
	}
	if size > 0 {
		o.Limit, o.Offset = size, (num-1)*size
	}
	return iq, o, nil
}

// listImages is GET /v1/images.
func (f *Front) listImages(c *call) error {
	q := c.r.URL.Query()
	v, err := parseView(q)
	if err != nil {
		return err
	}
	iq, o, err := c.parseList(q)
	if err != nil {
		return err
	}
	p, err := c.sess.QueryImages(c.ctx, iq, o)
	if err != nil {
		if model.CodeOf(err) == model.InvalidArgument {
			return newErr(400, "400.invalid-syntax", model.MessageOf(err))
		}
		return toErr(err, "404.image")
	}
	if p.Warning != "" {
		c.w.Header().Set("Warning", p.Warning)
	}
	key := ""
	if p.Generation != 0 && v.include == nil && !v.meta && !q.Has("filter[source_id]") {
		key = "cycle\x00" + c.hub.ID + "\x00" + strconv.FormatUint(p.Generation, 10) + "\x00" + c.r.URL.RawQuery
	}
	ids := c.sess.IDs(p.Listing(), gateway.SchemeObjectID)
	return f.answers.Send(c.w, c.r, api.Body{Status: 200, ContentType: "application/json", Key: key, Write: func(w io.Writer) error {
		imgs := make([]*model.Image, p.Len())
		out := make([]imageJSON, p.Len())
		for i := range out {
			imgs[i] = p.At(i)
			out[i] = c.render(imgs[i], ids(imgs[i].ID))
		}
		inc, err := c.decorate(out, imgs, v)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		buf.WriteString(`{"data":`)
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1)
		if inc != nil {
			buf.WriteString(`,"includes":`)
			if err := enc.Encode(inc); err != nil {
				return err
			}
			buf.Truncate(buf.Len() - 1)
		}
		buf.WriteString("}\n")
		_, err = w.Write(buf.Bytes())
		return err
	}})
}

// decorate adds meta to out and returns the includes v asks for (nil for
// none).
func (c *call) decorate(out []imageJSON, imgs []*model.Image, v view) (map[string]any, error) {
	var insts []model.Instance
	if v.meta || slices.Contains(v.include, "sources") {
		var err error
		insts, err = c.sess.ListInstances(c.ctx)
		if err != nil && model.CodeOf(err) != model.Unimplemented {
			return nil, err
		}
	}
	if v.meta {
		for i, img := range imgs {
			cc := &containersCount{State: map[string]int{}}
			for _, in := range insts {
				if in.ImageID != img.ID {
					continue
				}
				st := strings.ToLower(in.State)
				cc.State[st]++
				cc.Total++
				if st != "terminated" && st != "deleted" {
					cc.Available++
				}
			}
			out[i].Meta = &imageMetaJSON{ContainersCount: cc}
		}
	}
	if v.include == nil {
		return nil, nil
	}
	inc := map[string]any{}
	for _, name := range v.include {
		switch name {
		case "creators":
			keys := map[string]any{}
			for _, img := range imgs {
				id := field(img, fCreator)
				if id == "" || keys[id] != nil {
					continue
				}
				k, err := c.f.keys.Key(c.ctx, id)
				if err != nil {
					if model.IsNotFound(err) {
						continue
					}
					return nil, err
				}
				keys[id] = apiKeyJSON(k)
			}
			inc["creators"] = map[string]any{"api_keys": keys}
		case "sources":
			srcs, idents := map[string]any{}, map[string][]string{}
			for _, img := range imgs {
				native := field(img, fSource)
				if native == "" {
					continue
				}
				oid := c.sess.ID(gateway.SchemeObjectID, gateway.KindInstances, native)
				if srcs[oid] != nil {
					continue
				}
				name, state := native, stDeleted
				for _, in := range insts {
					if in.ID == native {
						state = stLive
						if in.Name != "" {
							name = in.Name
						}
					}
				}
				created := img.Created
				s := map[string]any{
					"id": oid, "identifier": native, "name": name, "type": "direct", "hub_id": c.hub.ID,
					"origin":  originJSON{Type: "none"},
					"creator": creatorRef{ID: field(img, fCreator), Type: "api-key"},
					"state":   map[string]any{"current": state, "changed": ts(created)},
					"events":  eventsJSON{Created: ts(created), Updated: ts(created), Deleted: ts(zeroTime)},
				}
				srcs[oid] = s
				idents[native] = []string{oid}
			}
			inc["sources"] = srcs
			inc["sources:identifiers"] = idents
		default:
			inc[name] = map[string]any{}
			inc[name+":identifiers"] = map[string]any{}
		}
	}
	return inc, nil
}

// apiKeyJSON is a key as creators.api_keys shows it (never its secret).
func apiKeyJSON(k APIKey) map[string]any {
	specific := []string{}
	if !k.All() {
		specific = k.Capabilities
	}
	state := "live"
	changed := k.Created
	if k.Revoked != nil {
		state, changed = "deleted", *k.Revoked
	}
	deleted := zeroTime
	if k.Revoked != nil {
		deleted = *k.Revoked
	}
	return map[string]any{
		"id": k.ID, "name": k.Name, "hub_id": k.HubID,
		"creator":      creatorRef{ID: k.HubID, Type: "platform"},
		"permissions":  map[string]any{"all_environments": true, "environments": []string{}},
		"capabilities": map[string]any{"all": k.All(), "specific": specific},
		"ips":          nil,
		"state":        map[string]any{"current": state, "changed": ts(changed)},
		"events":       eventsJSON{Created: ts(k.Created), Updated: ts(k.Updated), Deleted: ts(deleted)},
	}
}

// image resolves the path's image id (24 hex digits) to a catalog image.
func (c *call) image() (model.Image, string, error) {
	id := strings.ToLower(mux.Vars(c.r)["id"])
	if !gateway.IsObjectID(id) {
		return model.Image{}, id, newErr(404, "404.image", "image ids are 24 hex digits, not "+strconv.Quote(id))
	}
	native, err := c.sess.ResolveImage(c.ctx, gateway.SchemeObjectID, id)
	if err != nil {
		return model.Image{}, id, toErr(err, "404.image")
	}
	img, err := c.sess.GetImage(c.ctx, native)
	if err != nil {
		return model.Image{}, id, toErr(err, "404.image")
	}
	return img, id, nil
}

// imageToChange is image for a write: an image deleted through the front
// is 403 invalid-state, not 404.
func (c *call) imageToChange() (model.Image, string, error) {
	img, id, err := c.image()
	if e, ok := err.(*cyErr); ok && e.Code == "404.image" && gateway.IsObjectID(id) {
		if _, ok := c.tombstone(id); ok {
			return img, id, newErr(403, "403.invalid-state", "the image is deleted")
		}
	}
	return img, id, err
}

// getImage is GET /v1/images/{id}.
func (f *Front) getImage(c *call) error {
	q := c.r.URL.Query()
	for k := range q {
		if k != "include" && k != "meta" {
			return badQuery(k, fmt.Sprintf("unknown query parameter %q", k))
		}
	}
	v, err := parseView(q)
	if err != nil {
		return err
	}
	img, id, err := c.image()
	if e, ok := err.(*cyErr); ok && e.Code == "404.image" && gateway.IsObjectID(id) {
		if tomb, ok := c.tombstone(id); ok {
			return c.send(200, map[string]json.RawMessage{"data": tomb})
		}
	}
	if err != nil {
		return err
	}
	out := []imageJSON{c.render(&img, id)}
	inc, err := c.decorate(out, []*model.Image{&img}, v)
	if err != nil {
		return err
	}
	body := map[string]any{"data": out[0]}
	if inc != nil {
		body["includes"] = inc
	}
	return c.send(200, body)
}

// createImage is POST /v1/images.
func (f *Front) createImage(c *call) error {
	m, err := c.readBody()
	if err != nil {
		return err
	}
	if _, ok := m["override"]; ok {
		return newErr(422, "422.invalid-argument", "override is not supported: instances have no registry target").at("/override")
	}
	src, ok, err := stringField(m, "source_id", "/source_id")
	if err != nil {
		return err
	}
	if !ok || strings.TrimSpace(src) == "" {
		return newErr(422, "422.missing-argument", "source_id is required: an instance of the hub's provider").at("/source_id")
	}
	name, _, err := stringField(m, "name", "/name")
	if err != nil {
		return err
	}
	if len(name) > maxName {
		return newErr(422, "422.invalid-argument", fmt.Sprintf("name is longer than %d characters", maxName)).at("/name")
	}
	var build json.RawMessage
	if raw, ok := m["build"]; ok && string(raw) != "null" {
		var b struct {
			Args    map[string]string `json:"args"`
			UseDisk *bool             `json:"use_disk"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			return newErr(422, "422.invalid-argument", "build must be {\"args\":{…strings},\"use_disk\":bool}").at("/build")
		}
		var cb bytes.Buffer
		if err := json.Compact(&cb, raw); err != nil {
			return newErr(400, "400.invalid-syntax", err.Error())
		}
		build = cb.Bytes()
	}
	native, err := c.sess.ResolveInstance(c.ctx, gateway.SchemeObjectID, src)
	if err != nil {
		return toErr(err, "404.image.source").at("/source_id")
	}
	if name == "" {
		base := native
		if in, err := c.sess.GetInstance(c.ctx, native); err == nil && in.Name != "" {
			base = in.Name
		}
		name = base + "-" + c.f.now().UTC().Format("20060102150405")
	}
	logID := NewObjectID(c.f.now())
	img, _, err := c.sess.CreateImage(c.ctx, model.CreateImage{InstanceID: native, Name: name},
		gateway.JobMeta{
			Params: map[string]string{"name": name, "front": "cycle", "hub": c.hub.ID, "key": c.key.ID},
			Meta: func(im *model.ImageMeta) {
				if im.Fields == nil {
					im.Fields = map[string]string{}
				}
				im.Fields[fSource] = native
				im.Fields[fSourceType] = "direct"
				im.Fields[fCreator] = c.key.ID
				im.Fields[fHub] = c.hub.ID
				im.Fields[fBuildLog] = logID
				if build != nil {
					im.Fields[fBuild] = string(build)
				}
			}})
	if err != nil {
		e := toErr(err, "404.image.source")
		if e.Code == "404.image.source" || e.Code == "422.not-compatible" {
			e.at("/source_id")
		}
		return e
	}
	return c.send(201, map[string]any{"data": c.render(&img, c.sess.ID(gateway.SchemeObjectID, gateway.KindImages, img.ID))})
}

// patchImage is PATCH /v1/images/{id}: the name only.
func (f *Front) patchImage(c *call) error {
	m, err := c.readBody()
	if err != nil {
		return err
	}
	for k := range m {
		if k != "name" {
			return newErr(422, "422.invalid-argument", fmt.Sprintf("%q cannot be changed; only name can", k)).at("/" + k)
		}
	}
	name, ok, err := stringField(m, "name", "/name")
	if err != nil {
		return err
	}
	if ok && strings.TrimSpace(name) == "" {
		return newErr(422, "422.invalid-argument", "name must not be empty").at("/name")
	}
	if len(name) > maxName {
		return newErr(422, "422.invalid-argument", fmt.Sprintf("name is longer than %d characters", maxName)).at("/name")
	}
	img, id, err := c.imageToChange()
	if err != nil {
		return err
	}
	if st := cycleState(&img); st == stDeleting || st == stDeleted {
		return newErr(403, "403.invalid-state", "the image is "+st)
	}
	if !ok {
		return c.send(200, map[string]any{"data": c.render(&img, id)})
	}
	native := c.sess.Capabilities().Update
	fileName := img.Name
	if img.Meta != nil && img.Meta.Name != nil {
		fileName = field(&img, fFileName)
	}
	now := c.f.now().UTC().Format(time.RFC3339)
	nativeID := img.ID
	img, err = c.sess.UpdateImageMeta(c.ctx, nativeID, model.ImageUpdate{Name: &name}, func(im *model.ImageMeta) {
		if im.Fields == nil {
			im.Fields = map[string]string{}
		}
		im.Fields[fUpdated] = now
		if !native {
			im.Fields[fFileName] = fileName
		}
	})
	if code := model.CodeOf(err); native && (code == model.InvalidArgument || code == model.Unimplemented) {
		// The driver has an updater but cannot rename this image (EC2
		// cannot rename an AMI): the gateway's overlay keeps the name.
		img, err = c.sess.UpdateImageMeta(c.ctx, nativeID, model.ImageUpdate{}, func(im *model.ImageMeta) {
			if im.Fields == nil {
				im.Fields = map[string]string{}
			}
			im.Fields[fUpdated] = now
			im.Fields[fFileName] = fileName
			im.Name = &name
		})
	}
	if err != nil {
		return toErr(err, "404.image").at("/name")
	}
	return c.send(200, map[string]any{"data": c.render(&img, id)})
}

// buildLog is GET /v1/images/{id}/build-log.
func (f *Front) buildLog(c *call) error {
	img, id, err := c.image()
	if err != nil {
		return err
	}
	logID := field(&img, fBuildLog)
	if logID == "" {
		return newErr(404, "404.image.build-log", "the image was not created through this API")
	}
	job, err := c.f.gw.Jobs().ForImage(c.ctx, c.sess.Target, img.ID)
	if err != nil {
		return toErr(err, "404.image.build-log")
	}
	var b strings.Builder
	for _, e := range job.Log {
		b.WriteString(e.Time.UTC().Format(time.RFC3339) + " " + e.Message + "\n")
	}
	return c.send(200, map[string]any{"data": map[string]any{
		"id": logID, "hub_id": c.hub.ID, "image_id": id, "log": b.String(),
		"events": eventsJSON{Created: ts(job.Created), Updated: ts(job.Updated), Deleted: ts(zeroTime)},
	}})
}
