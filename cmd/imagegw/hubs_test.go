package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestHubsAndAPIKeysCommands: what a user sees from `imagegw hubs` and
// `imagegw apikeys`, mistakes included.
func TestHubsAndAPIKeysCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	run := func(hubs bool, args ...string) (string, error) {
		var out bytes.Buffer
		var err error
		if hubs {
			err = hubsCmd(ctx, &out, args)
		} else {
			err = apikeysCmd(ctx, &out, args)
		}
		return out.String(), err
	}
	hubOut, err := run(true, "add", "demo", "--driver", "mock", "--data", data)
	if err != nil || len(strings.TrimSpace(hubOut)) != 24 {
		t.Fatalf("hubs add: %q, %v", hubOut, err)
	}
	hub := strings.TrimSpace(hubOut)
	for _, tc := range []struct {
		hubs    bool
		args    []string
		wantErr string
		wantOut []string
	}{
		{true, []string{"add", "demo", "--driver", "mock", "--data", data}, "already exists", nil},
		{true, []string{"add", "x", "--driver", "nope", "--data", data}, "unknown driver", nil},
		{true, []string{"add", "x", "--data", data}, "--driver NAME is required", nil},
		{true, []string{"add", "--driver", "mock", "--data", data}, "want 1 argument", nil},
		{true, []string{"list", "--data", data}, "", []string{hub, "demo", "mock", "(default)"}},
		{true, []string{"frob"}, "unknown subcommand", nil},
		{true, []string{"--help"}, "help requested", []string{"imagegw hubs add NAME --driver"}},
		{false, []string{"help"}, "help requested", []string{"imagegw apikeys add --hub HUB"}},
		{false, []string{"list", "-h"}, "help requested", []string{"imagegw apikeys list"}},
		{false, []string{"add", "--name", "k", "--data", data}, "--hub HUB and --name NAME are required", nil},
		{false, []string{"add", "--hub", "nohub", "--name", "k", "--data", data}, "hub nohub not found", nil},
		{false, []string{"add", "--hub", "demo", "--name", "k", "--capability", "images-fly", "--data", data}, "unknown capability", nil},
		{false, []string{"add", "--hub", "demo", "--name", "k", "--expires", "-1h", "--data", data}, "must be positive", nil},
		{false, []string{"add", "--hub", "demo", "--name", "viewer", "--capability", "images-view", "--capability", "apionly-jobs-view", "--expires", "24h", "--data", data}, "", []string{"id:", "secret: igw_"}},
		{false, []string{"list", "--data", data}, "", []string{"viewer", "images-view,apionly-jobs-view", "live"}},
		{false, []string{"revoke", "000000000000000000000000", "--data", data}, "not found", nil},
		{true, []string{"remove", "nohub", "--data", data}, "not found", nil},
	} {
		out, err := run(tc.hubs, tc.args...)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		}
		for _, w := range tc.wantOut {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output %q lacks %q", tc.args, out, w)
			}
		}
		if strings.Contains(out, "secret:") {
			if list, _ := run(false, "list", "--data", data); strings.Contains(list, strings.Fields(out[strings.Index(out, "secret:"):])[1]) {
				t.Errorf("apikeys list shows a secret")
			}
		}
	}
	keys, _ := run(false, "list", "--hub", "demo", "--data", data)
	id := strings.Fields(strings.Split(keys, "\n")[1])[0]
	if out, err := run(false, "revoke", id, "--data", data); err != nil || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: %q %v", out, err)
	}
	if keys, _ := run(false, "list", "--data", data); !strings.Contains(keys, "revoked") {
		t.Errorf("after revoke: %s", keys)
	}
	if out, err := run(true, "remove", "demo", "--data", data); err != nil || !strings.Contains(out, hub) {
		t.Errorf("remove: %q %v", out, err)
	}
	if keys, _ := run(false, "list", "--data", data); strings.Contains(keys, id) {
		t.Errorf("keys of a removed hub remain: %s", keys)
	}
}
