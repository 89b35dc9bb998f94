package model

// ImageMeta is what the gateway keeps about an image beyond its cloud (the
// overlay): fields a cloud cannot store, written through any front and
// shown by every front. The catalog applies Name and Description to the
// image itself; the other fields are each front's to show.
type ImageMeta struct {
	// Name and Description replace the cloud's when the driver cannot keep
	// them (no ImageUpdater, or a create that drops them); nil keeps the
	// cloud's.
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
	Version     string  `json:"version,omitempty"`
	Homepage    string  `json:"homepage,omitempty"`
	EULA        string  `json:"eula,omitempty"`
	// Tags are the gateway's tags (CloudAPI's JSON values); they win over
	// the cloud's tags of the same key where a front merges them.
	Tags map[string]any `json:"tags,omitempty"`
	ACL  []string       `json:"acl,omitempty"`
	// Creator is who made the image through the gateway, in the terms of
	// the front that made it (a CloudAPI login).
	Creator string `json:"creator,omitempty"`
	// Origin is the image this one was cloned or copied from, as the front
	// that made it names it.
	Origin string `json:"origin,omitempty"`
	// Fields hold what later fronts keep (a Cycle creator key, say), by
	// name.
	Fields map[string]string `json:"fields,omitempty"`
}

// Empty reports whether m keeps nothing.
func (m ImageMeta) Empty() bool {
	return m.Name == nil && m.Description == nil && m.Version == "" && m.Homepage == "" && m.EULA == "" &&
		len(m.Tags) == 0 && len(m.ACL) == 0 && m.Creator == "" && m.Origin == "" && len(m.Fields) == 0
}
