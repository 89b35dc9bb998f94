package gateway_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/store"
)

// testFront is a front's configuration section, as CloudAPI's.
type testFront struct {
	Datacenters map[string]string `yaml:"datacenters"`
}

func init() { gateway.RegisterSection("testfront", func() any { return &testFront{} }) }

// TestConfigErrorsNameKeyAndLine: a typo in the operator's file is
// reported with the file, the line, the key and the key meant.
func TestConfigErrorsNameKeyAndLine(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"top-level typo", "default_driver: mock\ndefualt_provider: mock\n",
			[]string{"imagegw.yaml line 2", `unknown key "defualt_provider"`, "did you mean default_provider?", "known keys: catalog_max_images, default_driver", "testfront"}},
		{"section typo", "testfrnt: {}\n", []string{"imagegw.yaml line 1", "did you mean testfront?"}},
		{"section value of the wrong type", "default_driver: mock\ntestfront:\n  datacenters: 5\n", []string{"imagegw.yaml line 3: 5 is not a mapping of keys (in section testfront)"}},
		{"unrelated key", "\n\ncolour: blue\n", []string{"imagegw.yaml line 3", `unknown key "colour"`}},
		{"nested typo", "testfront:\n  datacentres: {}\n", []string{"imagegw.yaml line 2: testfront: " + `unknown key "datacentres" (did you mean datacenters?)`}},
		{"wrong type", "mock_create_delay: soon\n", []string{"imagegw.yaml line 1: soon is not a duration"}},
		{"wrong list", "\ntrusted_proxies: 127.0.0.1\n", []string{"line 2", "127.0.0.1 is not a list of strings"}},
		{"not a mapping", "- a\n- b\n", []string{"imagegw.yaml line 1", "must be a mapping"}},
		{"provider without a driver", "providers:\n  - {name: a, driver: mock}\n  - name: b\n", []string{"imagegw.yaml line 3", "provider 2 needs a name and a driver"}},
		{"repeated provider", "providers:\n  - {name: a, driver: mock}\n  - {name: A, driver: mock}\n", []string{"imagegw.yaml line 3", `"a" is used twice`}},
		{"bad YAML", "providers: [\n", []string{"config: ", "imagegw.yaml line 1: "}},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "imagegw.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := gateway.LoadConfig(path)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "gateway.") || strings.Contains(err.Error(), "unmarshal errors") {
				t.Errorf("error %q shows Go internals", err)
			}
		})
	}
}

// TestProviderKeyTypo: a driver key the driver does not know is refused
// when the provider opens, naming where the file set it.
func TestProviderKeyTypo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.yaml")
	y := "providers:\n  - name: m2\n    driver: mock\n    create_dealy: 1s\n"
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := gateway.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gw, err := gateway.New(context.Background(), cfg, gateway.Options{Store: st, DataDir: t.TempDir()})
	if err == nil {
		gw.Close()
		t.Fatal("accepted")
	}
	for _, w := range []string{"provider m2 (driver mock) at " + path + " line 4", `unknown key "create_dealy"`, "did you mean create_delay?", "known keys: create_delay, fail_instances, "} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}
