package main

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/gateway"
)

// clientServer starts a gateway whose mock provider's new images stay
// PENDING for delay; images from inst2 end FAILED.
func clientServer(t *testing.T, delay string) string {
	t.Helper()
	cfg, err := gateway.ParseConfig(strings.NewReader("job_poll_interval: 20ms\ndefault_driver: mock\ndefault_provider: test\nproviders:\n  - {name: test, driver: mock, create_delay: " + delay + ", fail_instances: [inst2]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	return apitest.NewServer(t, cfg).URL
}

// client runs one client command line against url as mockuser and
// returns its exit status, stdout and stderr.
func runClient(t *testing.T, url, line string) (int, string, string) {
	t.Helper()
	args := append(strings.Fields(line), "--url", url, "--user", "mockuser", "--password", "mockpassword")
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func wantContains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not show %q:\n%s", what, w, got)
		}
	}
}

// TestClientSession is what a person does in a terminal: list, create and
// wait, rename, clone, look at the jobs, delete; every answer is the table
// they read, and piped output has no progress line.
func TestClientSession(t *testing.T) {
	url := clientServer(t, "300ms")

	code, out, errOut := runClient(t, url, "images list")
	if code != 0 {
		t.Fatalf("images list: exit %d: %s", code, errOut)
	}
	wantContains(t, "images list", out, "ID", "NAME", "STATE", "img1", "img3", "AVAILABLE", "Fedora 10")

	for range 7 { // img4 .. img10
		if code, _, errOut := runClient(t, url, "images create --instance inst1"); code != 0 {
			t.Fatalf("create: exit %d: %s", code, errOut)
		}
	}
	_, out, _ = runClient(t, url, "images list")
	if a, b := strings.Index(out, "img5 "), strings.Index(out, "img10 "); a < 0 || b < 0 || a > b {
		t.Errorf("images list: img5 (at %d) is not before img10 (at %d):\n%s", a, b, out)
	}

	code, out, _ = runClient(t, url, "images list --search jboss")
	if code != 0 || !strings.Contains(out, "img3") || strings.Contains(out, "img1") {
		t.Errorf("images list --search jboss: exit %d\n%s", code, out)
	}
	code, out, _ = runClient(t, url, "images list --limit 2")
	if code != 0 || strings.Count(out, "\n") != 3 {
		t.Errorf("images list --limit 2: exit %d, want a header and 2 rows:\n%s", code, out)
	}

	code, out, errOut = runClient(t, url, "images create --instance inst1 --name web --description first --wait")
	if code != 0 {
		t.Fatalf("create --wait: exit %d: %s", code, errOut)
	}
	wantContains(t, "create --wait", out, "name:", "web", "state:", "AVAILABLE")
	if errOut != "" {
		t.Errorf("create --wait piped wrote to stderr: %q", errOut)
	}
	id := regexp.MustCompile(`id:\s+(\S+)`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no id in %s", out)
	}

	code, out, _ = runClient(t, url, "images update "+id[1]+" --name web-2")
	if code != 0 || !strings.Contains(out, "web-2") {
		t.Errorf("update: exit %d\n%s", code, out)
	}
	code, out, _ = runClient(t, url, "images get "+id[1]+" --json")
	var doc struct {
		Image struct{ Name, State string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc.Image.Name != "web-2" || doc.Image.State != "AVAILABLE" {
		t.Errorf("get --json: exit %d, %+v\n%s", code, doc, out)
	}

	code, out, _ = runClient(t, url, "images clone img1 --name twin")
	if code != 0 {
		t.Fatalf("clone: exit %d", code)
	}
	wantContains(t, "clone without --wait", out, "twin", "PENDING", "imagegw jobs wait ")
	job := regexp.MustCompile(`jobs wait (\S+)\)`).FindStringSubmatch(out)[1]
	code, out, _ = runClient(t, url, "jobs wait "+job)
	if code != 0 {
		t.Fatalf("jobs wait: exit %d", code)
	}
	wantContains(t, "jobs wait", out, "kind:", "clone_image", "SUCCEEDED")
	code, out, _ = runClient(t, url, "jobs list")
	wantContains(t, "jobs list", out, "KIND", job, "create_image", "clone_image", "SUCCEEDED")
	code, out, _ = runClient(t, url, "jobs get "+job+" --json")
	if code != 0 || !strings.Contains(out, `"state":"succeeded"`) {
		t.Errorf("jobs get --json: exit %d\n%s", code, out)
	}

	code, out, _ = runClient(t, url, "profiles list")
	wantContains(t, "profiles list", out, "m1-small", "1 vCPU", "1740.8 MB", "160 GB", "1..6 vCPUs")

	code, out, _ = runClient(t, url, "images delete "+id[1])
	if code != 0 || !strings.Contains(out, "deleted "+id[1]) {
		t.Errorf("delete: exit %d\n%s", code, out)
	}
	if code, _, errOut = runClient(t, url, "images get "+id[1]); code != 3 {
		t.Errorf("get of a deleted image: exit %d, want 3 (not found): %s", code, errOut)
	}
}

// TestClientExitCodes: each outcome has its status and a message on
// stderr.
func TestClientExitCodes(t *testing.T) {
	url := clientServer(t, "30s")
	slowURL := url
	tests := []struct {
		line    string
		code    int
		wantErr string
	}{
		{"images get img99", 3, "not found"},
		{"jobs get 00000000-0000-0000-0000-000000000000", 3, "not found"},
		{"images create --instance inst3", 1, "does not allow image creation"},
		{"images create --instance inst1 --wait --timeout 300ms", 5, "still running after 300ms"},
		{"images list --limit x", 2, "invalid value"},
		{"images frob", 2, "unknown subcommand"},
		{"images create", 2, "--instance"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			code, _, errOut := runClient(t, slowURL, tc.line)
			if code != tc.code || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.wantErr)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"images", "list", "--url", url, "--user", "mockuser", "--password", "nope"}, &out, &errOut)
		if code != 4 || !strings.Contains(errOut.String(), "Authentication failed") {
			t.Errorf("exit %d, stderr %q; want 4", code, errOut.String())
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv("IMAGEGW_URL", url)
		t.Setenv("IMAGEGW_USER", "mockuser")
		t.Setenv("IMAGEGW_PASSWORD", "mockpassword")
		var out, errOut bytes.Buffer
		if code := run([]string{"images", "get", "img1"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "Fedora 10") {
			t.Errorf("exit %d, %s %s", code, out.String(), errOut.String())
		}
	})
}

// TestClientFailedJob: --wait on an image that ends FAILED exits 1 with
// the cloud's reason.
func TestClientFailedJob(t *testing.T) {
	url := clientServer(t, "100ms")
	code, out, errOut := runClient(t, url, "images create --instance inst2 --wait")
	if code != 1 || !strings.Contains(errOut, "failed") || !strings.Contains(errOut, "fault injection") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and the reason", code, out, errOut)
	}
}

// TestClientProgressLine: on a terminal, --wait keeps one line on stderr
// up to date with the job's state, the time elapsed and its last log
// entry, and ends it with a newline.
func TestClientProgressLine(t *testing.T) {
	url := clientServer(t, "600ms")
	old := isTerminal
	isTerminal = func(w io.Writer) bool { _, ok := w.(*bytes.Buffer); return ok }
	defer func() { isTerminal = old }()
	code, out, errOut := runClient(t, url, "images create --instance inst1 --wait")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	wantContains(t, "progress line", errOut, "\r\033[K", "create_image RUNNING", "create_image SUCCEEDED")
	if !strings.HasSuffix(errOut, "\n") {
		t.Errorf("progress line is not ended: %q", errOut)
	}
	if !regexp.MustCompile(`RUNNING \d+(\.\d)?m?s  \S`).MatchString(errOut) {
		t.Errorf("progress line has no elapsed time and log entry: %q", errOut)
	}
	wantContains(t, "result", out, "AVAILABLE")
}

// TestClientCopy: a copy waits for its job in the destination provider
// and prints the image there.
func TestClientCopy(t *testing.T) {
	cfg, err := gateway.ParseConfig(strings.NewReader("job_poll_interval: 20ms\nmock_create_delay: 200ms\ndefault_driver: mock\ndefault_provider: test\nproviders:\n  - {name: test, driver: mock}\n  - {name: test1, driver: mock}\n"))
	if err != nil {
		t.Fatal(err)
	}
	url := apitest.NewServer(t, cfg).URL
	code, out, errOut := runClient(t, url, "images copy img1 --to test1 --name abroad --wait")
	if code != 0 {
		t.Fatalf("copy: exit %d: %s", code, errOut)
	}
	wantContains(t, "copy --wait", out, "abroad", "AVAILABLE")
	id := regexp.MustCompile(`id:\s+(\S+)`).FindStringSubmatch(out)[1]
	if code, out, _ = runClient(t, url, "images get "+id+" --provider test1"); code != 0 || !strings.Contains(out, "abroad") {
		t.Errorf("the copy in test1: exit %d\n%s", code, out)
	}
	if code, _, errOut = runClient(t, url, "images copy img1"); code != 2 || !strings.Contains(errOut, "--to") {
		t.Errorf("copy without --to: exit %d %s", code, errOut)
	}
}
