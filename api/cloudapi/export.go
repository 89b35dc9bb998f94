package cloudapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/imagegw/imagegw/model"
)

type exportJSON struct {
	MantaURL     string `json:"manta_url"`
	ImagePath    string `json:"image_path"`
	ManifestPath string `json:"manifest_path"`
}

// checkMantaPath enforces decision 14: absolute, under /<login>/, no "."
// or ".." segments.
func checkMantaPath(p, login string) error {
	if !strings.HasPrefix(p, "/"+login+"/") || len(p) <= len(login)+2 {
		return invalidArg("manta_path " + p + " must be an absolute path under /" + login + "/")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return invalidArg("manta_path " + p + " must not contain . or .. segments")
		}
		if strings.ContainsRune(seg, 0) || strings.ContainsRune(seg, '\\') {
			return invalidArg("manta_path " + p + " contains a forbidden character")
		}
	}
	return nil
}

func (f *Front) exportImage(c *call) error {
	mp := c.in.str("manta_path")
	if mp == "" {
		return missingParam("manta_path")
	}
	if err := checkMantaPath(mp, c.login); err != nil {
		return err
	}
	id, img, err := c.loadImageFor(opExport)
	if err != nil {
		return err
	}
	manifest := c.render(img, id)
	body, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return err
	}
	res, err := c.sess.ExportImage(c.r.Context(), img.ID, model.ExportRequest{Path: mp,
		FileName: manifest.Name + "-" + manifest.Version, Manifest: body})
	if err != nil {
		return err
	}
	return c.sendJSON(http.StatusOK, exportJSON{MantaURL: res.BaseURL, ImagePath: res.ImagePath, ManifestPath: res.ManifestPath})
}
