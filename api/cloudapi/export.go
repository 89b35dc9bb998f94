package cloudapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
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

// placeholder is the content of an exported image file when the gateway
// exports to its own directory: it cannot download image data from a
// cloud without a native export.
func placeholder(driver, provider, id string) []byte {
	return []byte(fmt.Sprintf("imagegw export placeholder: the disk data of %s image %s (provider %s) is not downloadable through this driver\n", driver, id, provider))
}

func (f *Front) exportImage(c *call) error {
	mp := c.in.str("manta_path")
	if mp == "" {
		return missingParam("manta_path")
	}
	if err := checkMantaPath(mp, c.login); err != nil {
		return err
	}
	id, img, err := c.loadImage()
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	if c.sess.Capabilities().Export {
		res, err := c.sess.ExportImage(ctx, img.ID, model.ExportRequest{Path: mp})
		if err != nil {
			return err
		}
		return c.sendJSON(http.StatusOK, exportJSON{MantaURL: res.BaseURL, ImagePath: res.ImagePath, ManifestPath: res.ManifestPath})
	}
	cfg := f.gw.Config()
	if cfg.ExportDir == "" {
		return newErr(http.StatusNotImplemented, "NotImplemented", "driver "+c.target.Driver+" has no native export and the gateway has no export_dir configured")
	}
	manifest, err := c.renderByID(img, id)
	if err != nil {
		return err
	}
	ext := fileSafe(img.DiskFormat)
	if ext == "" {
		ext = "raw"
	}
	root, err := filepath.Abs(cfg.ExportDir)
	if err != nil {
		return err
	}
	local := filepath.Join(root, filepath.FromSlash(mp))
	base := mp
	if st, err := os.Stat(local); strings.HasSuffix(mp, "/") || err == nil && st.IsDir() {
		base = strings.TrimSuffix(mp, "/") + "/" + fileSafe(manifest.Name) + "-" + fileSafe(manifest.Version)
	}
	imagePath, manifestPath := base+"."+ext, base+".imgmanifest"
	body, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return err
	}
	for _, p := range []string{imagePath, manifestPath} {
		if rel, err := filepath.Rel(root, filepath.Join(root, filepath.FromSlash(p))); err != nil || strings.HasPrefix(rel, "..") {
			return invalidArg("manta_path " + mp + " leaves the export directory")
		}
	}
	// The image file first, the manifest last: a manifest means a whole
	// export.
	if err := writeFileAtomic(filepath.Join(root, filepath.FromSlash(imagePath)), placeholder(c.target.Driver, c.target.Provider, img.ID)); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(root, filepath.FromSlash(manifestPath)), append(body, '\n')); err != nil {
		return err
	}
	base2 := cfg.ExportBaseURL
	if base2 == "" {
		base2 = "file://" + filepath.ToSlash(root)
	}
	return c.sendJSON(http.StatusOK, exportJSON{MantaURL: strings.TrimRight(base2, "/"), ImagePath: imagePath, ManifestPath: manifestPath})
}

// fileSafe makes an image name or version usable as one path segment.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && errors.Is(err, fs.ErrExist) {
			return invalidArg("manta_path crosses an existing file")
		}
		return model.Wrap(model.Internal, err, "export directory")
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return model.Wrap(model.Internal, err, "export")
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return model.Wrap(model.Internal, err, "export")
	}
	if err := tmp.Close(); err != nil {
		return model.Wrap(model.Internal, err, "export")
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return model.Wrap(model.Internal, err, "export")
	}
	return nil
}
