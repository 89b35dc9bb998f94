package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/api"
)

// TestCommandLine: help on every command and subcommand prints its usage
// on stdout and exits 0; the version prints; mistakes exit 2 with the
// cause on stderr.
func TestCommandLine(t *testing.T) {
	tests := []struct {
		args       string
		code       int
		wantOut    []string // substrings of stdout
		wantErr    []string // substrings of stderr
		notWantOut []string
	}{
		{"--version", 0, []string{"imagegw " + api.Version + " (revision ", "go1."}, nil, nil},
		{"version", 0, []string{"imagegw " + api.Version}, nil, nil},
		{"-h", 0, []string{"usage: imagegw <command>", "serve", "accounts", "keys", "version", "images", "profiles", "jobs"}, nil, nil},
		{"--help", 0, []string{"usage: imagegw <command>"}, nil, nil},
		{"help", 0, []string{"usage: imagegw <command>"}, nil, nil},
		{"help serve", 0, []string{"usage: imagegw serve", "-listen"}, nil, nil},
		{"serve -h", 0, []string{"usage: imagegw serve", "-mock-create-delay duration", "(default 2s)", "/metrics"}, nil, []string{"-1ns", "(default 2s) (default"}},
		{"serve --help", 0, []string{"usage: imagegw serve"}, nil, nil},
		{"version -h", 0, []string{"usage: imagegw version"}, nil, nil},
		{"accounts --help", 0, []string{"imagegw accounts add LOGIN"}, nil, nil},
		{"accounts -h", 0, []string{"imagegw accounts add LOGIN"}, nil, nil},
		{"accounts help", 0, []string{"imagegw accounts list"}, nil, nil},
		{"accounts add -h", 0, []string{"imagegw accounts add LOGIN", "-cloud-user"}, nil, nil},
		{"accounts list --help", 0, []string{"imagegw accounts list", "-data"}, nil, nil},
		{"accounts remove -h", 0, []string{"imagegw accounts remove"}, nil, nil},
		{"keys --help", 0, []string{"imagegw keys add LOGIN"}, nil, nil},
		{"keys add -h", 0, []string{"imagegw keys add LOGIN", "-name"}, nil, nil},
		{"keys list -h", 0, []string{"imagegw keys list"}, nil, nil},
		{"keys remove --help", 0, []string{"imagegw keys remove"}, nil, nil},
		{"images -h", 0, []string{"imagegw images list", "imagegw images copy ID --to PROVIDER", "--wait", "exit status: 0 done, 1 failed, 2 usage, 3 not found, 4 authentication, 5 timeout"}, nil, nil},
		{"images create --help", 0, []string{"imagegw images create --instance ID"}, nil, nil},
		{"profiles help", 0, []string{"imagegw profiles list"}, nil, nil},
		{"jobs wait -h", 0, []string{"imagegw jobs wait ID [--timeout T]", "IMAGEGW_URL"}, nil, nil},
		{"images", 2, nil, []string{"a subcommand is required", "imagegw images list"}, nil},
		{"images get", 2, nil, []string{"get needs an image or job id"}, nil},
		{"jobs list --url ftp://x", 2, nil, []string{"is not an http(s) URL"}, nil},
		{"", 2, nil, []string{"usage: imagegw <command>"}, nil},
		{"nope", 2, nil, []string{`unknown command "nope"`}, nil},
		{"help nope", 2, nil, []string{`unknown command "nope"`}, nil},
		{"serve --bogus", 2, nil, []string{"flag provided but not defined: -bogus", "imagegw serve -h"}, nil},
		{"serve --mock-create-delay=soon", 2, nil, []string{"-mock-create-delay", "duration"}, nil},
		{"serve extra", 2, nil, []string{"unexpected arguments [extra]"}, nil},
		{"accounts", 2, nil, []string{"a subcommand is required", "imagegw accounts add"}, nil},
		{"accounts frob", 2, nil, []string{`unknown subcommand "frob"`}, nil},
		{"keys add --nope", 2, nil, []string{"flag provided but not defined: -nope", "imagegw keys add -h"}, nil},
		{"version extra", 1, nil, []string{"unexpected arguments"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(strings.Fields(tc.args), &out, &errOut)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errOut.String())
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.notWantOut {
				if strings.Contains(out.String(), w) {
					t.Errorf("stdout has %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
				}
			}
			if tc.code == 0 && errOut.Len() > 0 {
				t.Errorf("stderr not empty on success: %s", errOut.String())
			}
		})
	}
}
