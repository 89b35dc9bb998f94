package configkeys

import (
	"strings"
	"testing"
)

type inner struct {
	Region string `yaml:"region"`
}

type settings struct {
	inner    `yaml:",inline"`
	Endpoint string `yaml:"endpoint"`
	Skip     string `yaml:"-"`
	Plain    int
}

func TestOf(t *testing.T) {
	if got := strings.Join(Of(&settings{}), ","); got != "endpoint,plain,region" {
		t.Errorf("Of = %s", got)
	}
}

func TestDescribe(t *testing.T) {
	known := []string{"default_driver", "default_provider", "providers", "region", "url"}
	tests := []struct{ key, want string }{
		{"defualt_driver", `unknown key "defualt_driver" (did you mean default_driver?); known keys: `},
		{"regoin", `(did you mean region?)`},
		{"Providers", `(did you mean providers?)`},
		{"uri", `(did you mean url?)`},
		{"colour_scheme", `unknown key "colour_scheme"; known keys: default_driver`},
	}
	for _, tc := range tests {
		if got := Describe(tc.key, known); !strings.Contains(got, tc.want) {
			t.Errorf("Describe(%q) = %s, want %s", tc.key, got, tc.want)
		}
	}
}
