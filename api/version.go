package api

import (
	"runtime"
	"runtime/debug"
)

// Revision is the source revision the binary was built from. The Makefile
// sets it with -ldflags "-X github.com/imagegw/imagegw/api.Revision=...";
// when it is empty, Build reads the revision Go recorded in the binary, if
// any.
var Revision string

// BuildInfo says which imagegw a binary is.
type BuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	GoVersion string `json:"go_version"`
}

// Build returns the binary's version, revision ("unknown" when neither the
// linker nor the Go toolchain recorded one) and Go version.
func Build() BuildInfo {
	b := BuildInfo{Version: Version, Revision: Revision, GoVersion: runtime.Version()}
	if b.Revision == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					b.Revision = s.Value[:12]
				}
			}
		}
	}
	if b.Revision == "" {
		b.Revision = "unknown"
	}
	return b
}

// String is the one-line form `imagegw version` prints:
// "imagegw 0.1.0 (revision 1a2b3c4d5e6f, go1.26.8)".
func (b BuildInfo) String() string {
	return "imagegw " + b.Version + " (revision " + b.Revision + ", " + b.GoVersion + ")"
}
