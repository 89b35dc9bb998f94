// Command testsummary runs `go test -json` with the given arguments and
// prints what a plain `go test` would (each package's ok/FAIL line, the
// output of failed tests, build errors), then every skipped test with the
// reason it gave, and a closing count. It exits with go test's status.
//
//	go run ./scripts/testsummary -race -count=1 ./...
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time       time.Time
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
}

type key struct{ pkg, test string }

type skip struct {
	pkg, test, reason string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	gobin := os.Getenv("GO")
	if gobin == "" {
		gobin = "go"
	}
	cmd := exec.Command(gobin, append([]string{"test", "-json"}, args...)...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(stderr, "testsummary:", err)
		return 2
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "testsummary:", err)
		return 2
	}
	skips, counts := summarize(out, stdout)
	err = cmd.Wait()
	report(stdout, skips, counts)
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(stderr, "testsummary:", err)
		return 2
	}
	return 0
}

// summarize reads the JSON stream, printing package results, build
// errors and failed tests' output as they come; it returns the skipped
// tests and the pass/fail/skip counts.
func summarize(r io.Reader, w io.Writer) ([]skip, map[string]int) {
	outputs := map[key][]string{}
	counts := map[string]int{}
	var skips []skip
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			fmt.Fprintln(w, string(line)) // not JSON: pass it on
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "output":
			if e.Test == "" {
				if !strings.HasPrefix(e.Output, "=== ") && strings.TrimSpace(e.Output) != "PASS" {
					fmt.Fprint(w, e.Output) // ok/FAIL/no test files lines, package-level output
				}
				continue
			}
			outputs[k] = append(outputs[k], e.Output)
		case "pass":
			if e.Test != "" {
				counts["passed"]++
				delete(outputs, k)
			}
		case "fail":
			if e.Test != "" {
				counts["failed"]++
				for _, l := range outputs[k] {
					if !strings.HasPrefix(l, "=== ") {
						fmt.Fprint(w, l)
					}
				}
				delete(outputs, k)
			}
		case "skip":
			if e.Test != "" {
				counts["skipped"]++
				skips = append(skips, skip{e.Package, e.Test, reason(outputs[k])})
				delete(outputs, k)
			}
		}
	}
	return skips, counts
}

// reason is what a skipped test logged (its t.Skip message), without the
// framing lines.
func reason(lines []string) string {
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return "(no reason given)"
	}
	return strings.Join(out, " / ")
}

func report(w io.Writer, skips []skip, counts map[string]int) {
	sort.Slice(skips, func(i, j int) bool {
		if skips[i].pkg != skips[j].pkg {
			return skips[i].pkg < skips[j].pkg
		}
		return skips[i].test < skips[j].test
	})
	if len(skips) > 0 {
		fmt.Fprintf(w, "\nskipped tests (%d):\n", len(skips))
		for _, s := range skips {
			fmt.Fprintf(w, "  %s %s: %s\n", s.pkg, s.test, s.reason)
		}
	}
	fmt.Fprintf(w, "\ntests: %d passed, %d failed, %d skipped\n", counts["passed"], counts["failed"], counts["skipped"])
}
