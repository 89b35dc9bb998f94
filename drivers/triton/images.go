package triton

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/joyent/triton-go/account"
	"github.com/joyent/triton-go/client"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// image is CloudAPI's Image as the driver reads it. triton-go's
// compute.Image is not used for reading: its Tags are map[string]string,
// so one image with a number or boolean tag (IMGAPI allows them) fails the
// whole list, and it has no error field for failed images.
type image struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Version      string         `json:"version"`
	OS           string         `json:"os"`
	Type         string         `json:"type"`
	Description  string         `json:"description"`
	Homepage     string         `json:"homepage"`
	EULA         string         `json:"eula"`
	Requirements map[string]any `json:"requirements"`
	PublishedAt  time.Time      `json:"published_at"`
	Owner        string         `json:"owner"`
	Public       bool           `json:"public"`
	State        string         `json:"state"`
	Tags         map[string]any `json:"tags"`
	ACL          []string       `json:"acl"`
	Origin       string         `json:"origin"`
	Files        []struct {
		Compression string `json:"compression"`
		SHA1        string `json:"sha1"`
		Size        int64  `json:"size"`
	} `json:"files"`
	ImageSize int64 `json:"image_size"`
	Error     *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// stateOf maps CloudAPI image states to the model's.
func stateOf(s string) string {
	switch s {
	case "active":
		return model.ImageAvailable
	case "creating", "unactivated":
		return model.ImagePending
	case "failed":
		return model.ImageFailed
	case "disabled":
		return model.ImageDisabled
	case "deleted":
		return model.ImageDeleted
	}
	return strings.ToUpper(s)
}

// cloudState maps a model state filter to CloudAPI's state filter.
func cloudState(s string) (string, bool) {
	switch strings.ToUpper(s) {
	case model.ImageAvailable:
		return "active", true
	case model.ImagePending:
		return "creating", true
	case model.ImageFailed:
		return "failed", true
	case model.ImageDisabled:
		return "disabled", true
	}
	return "", false
}

// toModel converts a CloudAPI image.
func (im image) toModel() model.Image {
	out := model.Image{
		ID: im.ID, Name: im.Name, Description: im.Description, OwnerID: im.Owner,
		State: stateOf(im.State), Created: im.PublishedAt, OS: im.OS, Version: im.Version,
		Type: im.Type, Visibility: model.VisibilityPrivate, Native: map[string]string{},
	}
	if im.Public {
		out.Visibility = model.VisibilityPublic
	} else if len(im.ACL) > 0 {
		out.Visibility = model.VisibilityShared
	}
	switch im.Type {
	case "zvol":
		out.RootType = model.RootPersistent
	case "zone-dataset", "lx-dataset", "docker", "lxd":
		out.RootType = model.RootTransient
	}
	if len(im.Files) > 0 {
		f := im.Files[0]
		out.SizeBytes = f.Size
		out.Native["sha1"] = f.SHA1
		out.Native["compression"] = f.Compression
		if f.Compression == "gzip" {
			out.DiskFormat = "zfs.gz"
		}
	}
	if im.Error != nil {
		out.StateReason = strings.TrimPrefix(im.Error.Code+": "+im.Error.Message, ": ")
	} else if out.State == model.ImageFailed {
		out.StateReason = "image creation failed"
	}
	if len(im.Tags) > 0 {
		out.Tags = make(map[string]string, len(im.Tags))
		for k, v := range im.Tags {
			out.Tags[k] = tagString(v)
		}
	}
	for k, v := range map[string]string{"homepage": im.Homepage, "eula": im.EULA, "origin": im.Origin, "state": im.State} {
		if v != "" {
			out.Native[k] = v
		}
	}
	if len(im.ACL) > 0 {
		out.Native["acl"] = strings.Join(im.ACL, ",")
	}
	if im.ImageSize > 0 {
		out.Native["image_size_mib"] = strconv.FormatInt(im.ImageSize, 10)
	}
	if len(im.Requirements) > 0 {
		keys := make([]string, 0, len(im.Requirements))
		for k := range im.Requirements {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out.Native["requirements."+k] = tagString(im.Requirements[k])
		}
		if a, ok := im.Requirements["arch"].(string); ok {
			out.Architecture = archOf(a)
		}
	}
	return out
}

// archOf normalises a requirements.arch value.
func archOf(a string) string {
	switch strings.ToLower(a) {
	case "x86_64", "amd64":
		return "x86_64"
	case "aarch64", "arm64":
		return "arm64"
	case "i386", "i686":
		return "i386"
	}
	return ""
}

// tagString renders a JSON tag value as a string.
func tagString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// call sends one CloudAPI request under the account's path and decodes a
// JSON answer into out (when non-nil).
func call(ctx context.Context, c *client.Client, method, p string, q url.Values, body, out any) error {
	in := client.RequestInput{Method: method, Path: path.Join("/", c.AccountName, p), Body: body}
	if len(q) > 0 {
		in.Query = &q
	}
	r, err := c.ExecuteRequestURIParams(ctx, in)
	if r != nil {
		defer r.Close()
	}
	if err != nil {
		return err
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, r)
		return nil
	}
	if err := json.NewDecoder(r).Decode(out); err != nil {
		return fmt.Errorf("decoding CloudAPI's answer: %w", err)
	}
	return nil
}

// accountID returns the UUID of the driver's account (GetAccount).
func (d *Driver) accountID(ctx context.Context) (string, error) {
	var id string
	err := d.do(ctx, "getting the account", func(ctx context.Context, c *client.Client) error {
		a, err := (&account.AccountClient{Client: c}).Get(ctx, &account.GetInput{})
		if err == nil {
			id = a.ID
		}
		return err
	})
	return id, err
}

// listQuery is the ListImages query of q. CloudAPI filters name (exact,
// or a substring with a ~ prefix), os, version, type, owner and state
// natively; state=all is sent unless q names one state, since CloudAPI
// lists only active images by default. A name pattern is pushed down as a
// substring of its longest literal part (the gateway matches the rest).
// CloudAPI's public filter has no model query field.
func listQuery(q model.ImageQuery, self string) url.Values {
	v := url.Values{"state": {"all"}}
	switch {
	case q.Name != "":
		v.Set("name", q.Name)
	case q.NamePattern != "":
		lit := ""
		for _, part := range strings.Split(q.NamePattern, "*") {
			if len(part) > len(lit) {
				lit = part
			}
		}
		if lit == q.NamePattern {
			v.Set("name", lit)
		} else if lit != "" {
			v.Set("name", "~"+lit)
		}
	}
	if q.OS != "" {
		v.Set("os", strings.ToLower(q.OS))
	}
	if q.Version != "" {
		v.Set("version", q.Version)
	}
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	switch q.OwnerID {
	case "":
	case "self":
		v.Set("owner", self)
	default:
		v.Set("owner", q.OwnerID)
	}
	states := q.States
	if q.State != "" {
		states = []string{q.State}
	}
	if len(states) == 1 {
		if st, ok := cloudState(states[0]); ok {
			v.Set("state", st)
		}
	}
	return v
}

// ListImages lists images with ListImages, pushing down what CloudAPI
// filters (see listQuery; owner "self" is the account's UUID). A single id
// is fetched with GetImage.
func (d *Driver) ListImages(ctx context.Context, q model.ImageQuery) ([]model.Image, error) {
	if len(q.IDs) == 1 {
		img, err := d.GetImage(ctx, q.IDs[0])
		if model.IsNotFound(err) {
			return []model.Image{}, nil
		}
		if err != nil {
			return nil, err
		}
		return []model.Image{img}, nil
	}
	self := ""
	if q.OwnerID == "self" {
		id, err := d.accountID(ctx)
		if err != nil {
			return nil, err
		}
		self = id
	}
	var raw []image
	err := d.do(ctx, "listing images", func(ctx context.Context, c *client.Client) error {
		return call(ctx, c, http.MethodGet, "images", listQuery(q, self), nil, &raw)
	})
	if err != nil {
		return nil, err
	}
	out := make([]model.Image, 0, len(raw))
	for _, im := range raw {
		out = append(out, im.toModel())
	}
	return out, nil
}

// GetImage returns one image (GetImage). A deleted image is NotFound.
func (d *Driver) GetImage(ctx context.Context, id string) (model.Image, error) {
	if !isUUID(id) {
		return model.Image{}, model.Errorf(model.NotFound, "triton: image %s not found (Triton image ids are UUIDs)", id)
	}
	var im image
	err := d.do(ctx, "getting image "+id, func(ctx context.Context, c *client.Client) error {
		return call(ctx, c, http.MethodGet, "images/"+id, nil, nil, &im)
	})
	if err != nil {
		return model.Image{}, err
	}
	return im.toModel(), nil
}

// CreateImage starts CreateImageFromMachine and returns the new image,
// normally PENDING; the gateway's job follows it to AVAILABLE or FAILED.
// CloudAPI requires a version: req.Version (or Options["version"]), else
// 1.0.0. An empty
// name becomes "image-of-<machine>".
func (d *Driver) CreateImage(ctx context.Context, req model.CreateImage) (model.Image, error) {
	if !isUUID(req.InstanceID) {
		return model.Image{}, model.Errorf(model.NotFound, "triton: machine %s not found (Triton machine ids are UUIDs)", req.InstanceID)
	}
	version := req.Version
	if version == "" {
		version = req.Options["version"]
	}
	body := map[string]any{"machine": req.InstanceID, "name": req.Name, "version": version}
	if req.Name == "" {
		body["name"] = "image-of-" + req.InstanceID[:8]
	}
	if body["version"] == "" {
		body["version"] = "1.0.0"
	}
	if req.Description != "" {
		body["description"] = req.Description
	}
	for _, k := range []string{"homepage", "eula"} {
		if v := req.Options[k]; v != "" {
			body[k] = v
		}
	}
	if req.Token != "" {
		body["tags"] = map[string]any{TokenTag: req.Token}
	}
	var im image
	err := d.do(ctx, "creating an image from machine "+req.InstanceID, func(ctx context.Context, c *client.Client) error {
		return call(ctx, c, http.MethodPost, "images", nil, body, &im)
	})
	if err != nil {
		return model.Image{}, err
	}
	out := im.toModel()
	if im.State == "" {
		out.State = model.ImagePending
	}
	return out, nil
}

// TokenTag is the tag CreateImage gives a new image (CreateImageFromMachine's
// tags), whose value is the gateway's token for the create (its job id),
// for FindCreated.
const TokenTag = "imagegw_job"

// FindCreated returns the account's image tagged TokenTag=token, or
// model.NotFound: one ListImages filtered by CloudAPI (owner the account,
// tag.imagegw_job=token, every state), the oldest if several.
func (d *Driver) FindCreated(ctx context.Context, token string) (model.Image, error) {
	if token == "" {
		return model.Image{}, model.Errorf(model.NotFound, "no image has an empty %s tag", TokenTag)
	}
	self, err := d.accountID(ctx)
	if err != nil {
		return model.Image{}, err
	}
	q := url.Values{"state": {"all"}, "owner": {self}, "tag." + TokenTag: {token}}
	var raw []image
	err = d.do(ctx, "finding the image of create "+token, func(ctx context.Context, c *client.Client) error {
		return call(ctx, c, http.MethodGet, "images", q, nil, &raw)
	})
	if err != nil {
		return model.Image{}, err
	}
	var found *model.Image
	for _, im := range raw {
		img := im.toModel()
		if !strings.EqualFold(img.OwnerID, self) || img.Tags[TokenTag] != token { // CloudAPI filtered; not another's
			continue
		}
		if found == nil || img.Created.Before(found.Created) {
			found = &img
		}
	}
	if found == nil {
		return model.Image{}, model.Errorf(model.NotFound, "no image of the account is tagged %s=%s", TokenTag, token)
	}
	return *found, nil
}

// DeleteImage deletes an image (DeleteImage).
func (d *Driver) DeleteImage(ctx context.Context, id string) error {
	if !isUUID(id) {
		return model.Errorf(model.NotFound, "triton: image %s not found", id)
	}
	return d.do(ctx, "deleting image "+id, func(ctx context.Context, c *client.Client) error {
		return call(ctx, c, http.MethodDelete, "images/"+id, nil, nil, nil)
	})
}

// UpdateImage changes the name, description and tags (UpdateImage). Tags
// are merged into the image's own (an empty value removes one), since
// CloudAPI replaces the whole tags object.
func (d *Driver) UpdateImage(ctx context.Context, id string, u model.ImageUpdate) (model.Image, error) {
	if !isUUID(id) {
		return model.Image{}, model.Errorf(model.NotFound, "triton: image %s not found", id)
	}
	body := map[string]any{}
	if u.Name != nil {
		body["name"] = *u.Name
	}
	if u.Description != nil {
		body["description"] = *u.Description
	}
	var im image
	err := d.do(ctx, "updating image "+id, func(ctx context.Context, c *client.Client) error {
		if len(u.Tags) > 0 {
			var cur image
			if err := call(ctx, c, http.MethodGet, "images/"+id, nil, nil, &cur); err != nil {
				return err
			}
			tags := map[string]any{}
			for k, v := range cur.Tags {
				tags[k] = v
			}
			for k, v := range u.Tags {
				if v == "" {
					delete(tags, k)
				} else {
					tags[k] = v
				}
			}
			body["tags"] = tags
		}
		if len(body) == 0 {
			return call(ctx, c, http.MethodGet, "images/"+id, nil, nil, &im)
		}
		return call(ctx, c, http.MethodPost, "images/"+id, url.Values{"action": {"update"}}, body, &im)
	})
	if err != nil {
		return model.Image{}, err
	}
	return im.toModel(), nil
}

// CloneImage copies an image of another owner into the account
// (CloneImage); a name or description given is set on the clone.
func (d *Driver) CloneImage(ctx context.Context, req model.CloneImage) (model.Image, error) {
	if !isUUID(req.SourceImageID) {
		return model.Image{}, model.Errorf(model.NotFound, "triton: image %s not found", req.SourceImageID)
	}
	var im image
	err := d.do(ctx, "cloning image "+req.SourceImageID, func(ctx context.Context, c *client.Client) error {
		return call(ctx, c, http.MethodPost, "images/"+req.SourceImageID, url.Values{"action": {"clone"}}, map[string]any{}, &im)
	})
	if err != nil {
		return model.Image{}, err
	}
	return d.rename(ctx, im.toModel(), req.Name, req.Description)
}

// rename sets a name and description given for a clone or copy.
func (d *Driver) rename(ctx context.Context, img model.Image, name, desc string) (model.Image, error) {
	var u model.ImageUpdate
	if name != "" && name != img.Name {
		u.Name = &name
	}
	if desc != "" && desc != img.Description {
		u.Description = &desc
	}
	if u.Name == nil && u.Description == nil {
		return img, nil
	}
	out, err := d.UpdateImage(ctx, img.ID, u)
	if err != nil {
		return img, err
	}
	return out, nil
}

// CopyImage imports an image from another Triton datacenter
// (ImportImageFromDatacenter), called on the destination. The source's
// datacenter name is its datacenter setting, else the name under which
// this datacenter's ListDatacenters lists the source's URL.
func (d *Driver) CopyImage(ctx context.Context, req model.CopyImage) (model.Image, error) {
	if !isUUID(req.SourceImageID) {
		return model.Image{}, model.Errorf(model.NotFound, "triton: image %s not found", req.SourceImageID)
	}
	if req.SourceProvider.Driver != DriverID {
		return model.Image{}, model.Errorf(model.InvalidArgument, "triton: can only copy from another triton provider, not %s", req.SourceProvider.Driver)
	}
	dc, err := d.datacenterOf(ctx, req.SourceProvider)
	if err != nil {
		return model.Image{}, err
	}
	var im image
	err = d.do(ctx, "importing image "+req.SourceImageID+" from datacenter "+dc, func(ctx context.Context, c *client.Client) error {
		q := url.Values{"action": {"import-from-datacenter"}, "datacenter": {dc}, "id": {req.SourceImageID}}
		return call(ctx, c, http.MethodPost, "images", q, map[string]any{}, &im)
	})
	if err != nil {
		return model.Image{}, err
	}
	return d.rename(ctx, im.toModel(), req.Name, req.Description)
}

// datacenterOf returns the CloudAPI datacenter name of another provider.
func (d *Driver) datacenterOf(ctx context.Context, pc model.ProviderConfig) (string, error) {
	var s Settings
	if err := drivers.DecodeSettings(pc, &s); err != nil {
		return "", err
	}
	if s.Datacenter != "" {
		return s.Datacenter, nil
	}
	want := strings.TrimRight(s.URL, "/")
	if want == "" {
		want = strings.TrimRight(tritonEnv("URL"), "/")
	}
	dcs, err := d.datacenters(ctx)
	if err != nil {
		return "", err
	}
	for _, dc := range dcs {
		if strings.EqualFold(strings.TrimRight(dc.URL, "/"), want) {
			return dc.Name, nil
		}
	}
	return "", model.Errorf(model.InvalidArgument, "triton: provider %s (%s) is not a datacenter this one knows; set its datacenter setting", pc.Name, want)
}

// ExportImage exports an image to Manta (ExportImage). Path is the Manta
// path; the result's paths are CloudAPI's.
func (d *Driver) ExportImage(ctx context.Context, id string, dest model.ExportRequest) (model.ExportResult, error) {
	if !isUUID(id) {
		return model.ExportResult{}, model.Errorf(model.NotFound, "triton: image %s not found", id)
	}
	if dest.Path == "" {
		return model.ExportResult{}, model.Errorf(model.InvalidArgument, "triton: exporting image %s needs a Manta path", id)
	}
	// triton-go's Images().Export never sends manta_path, so the request is
	// made here.
	var loc struct {
		MantaURL     string `json:"manta_url"`
		ImagePath    string `json:"image_path"`
		ManifestPath string `json:"manifest_path"`
	}
	err := d.do(ctx, "exporting image "+id, func(ctx context.Context, c *client.Client) error {
		q := url.Values{"action": {"export"}, "manta_path": {dest.Path}}
		return call(ctx, c, http.MethodPost, "images/"+id, q, map[string]any{}, &loc)
	})
	if err != nil {
		return model.ExportResult{}, err
	}
	return model.ExportResult{BaseURL: loc.MantaURL, ImagePath: loc.ImagePath, ManifestPath: loc.ManifestPath}, nil
}

// isUUID reports whether s has the 8-4-4-4-12 hex form of Triton's ids.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
