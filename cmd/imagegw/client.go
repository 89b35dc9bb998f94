package main

// The terminal client: imagegw images|profiles|jobs talk to a running
// gateway's native front (/api, in JSON) with HTTP Basic credentials.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imagegw/imagegw/model"
)

func init() {
	commands["images"] = command{summary: "list, show, create, update, clone, copy and delete images of a running gateway", runIO: runImages}
	commands["profiles"] = command{summary: "list the hardware profiles of a running gateway", runIO: runProfiles}
	commands["jobs"] = command{summary: "list, show and wait for the jobs of a running gateway", runIO: runJobs}
}

// Exit codes of the client commands (usage errors are 2, as everywhere).
const (
	exitFailed   = 1 // the gateway refused, or the job failed
	exitNotFound = 3
	exitAuth     = 4
	exitTimeout  = 5
)

// exitError is an error with the process's exit status.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

const clientFlagsHelp = `
connection (every client command):
  --url URL          the gateway (env IMAGEGW_URL; default http://127.0.0.1:3001)
  --user, --password HTTP Basic credentials (env IMAGEGW_USER, IMAGEGW_PASSWORD)
  --driver, --provider  select the cloud (default: the gateway's default)
  --json             print the gateway's JSON instead of a table

exit status: 0 done, 1 failed, 2 usage, 3 not found, 4 authentication, 5 timeout`

const imagesUsage = `usage:
  imagegw images list [--search TEXT] [--state S] [--owner ID] [--architecture A] [--sort KEYS] [--limit N]
  imagegw images get ID
  imagegw images create --instance ID [--name N] [--description D] [--wait [--timeout T]]
  imagegw images update ID [--name N] [--description D]
  imagegw images clone ID [--name N] [--description D] [--wait [--timeout T]]
  imagegw images copy ID --to PROVIDER [--name N] [--description D] [--wait [--timeout T]]
  imagegw images delete ID

--wait follows the operation's job until it ends: on a terminal a live line
shows its state, the time elapsed and its last log entry; when the output is
not a terminal only the final image is printed.` + clientFlagsHelp

const profilesUsage = `usage:
  imagegw profiles list [--architecture A]` + clientFlagsHelp

const jobsUsage = `usage:
  imagegw jobs list
  imagegw jobs get ID
  imagegw jobs wait ID [--timeout T]` + clientFlagsHelp

// client is one command's connection to a gateway.
type client struct {
	base     string // URL of /api with the selection's matrix parameters
	user     string
	password string
	json     bool
	http     *http.Client
	stdout   io.Writer
	stderr   io.Writer
	interval time.Duration // between job polls
}

// clientFlags are the flags every client command shares, and the
// command's own.
type clientFlags struct {
	fs                         *flag.FlagSet
	url, user, password        *string
	driver, provider           *string
	json                       *bool
	name, description          *string
	search, state, owner, arch *string
	sort                       *string
	limit                      *int
	instance, to               *string
	wait                       *bool
	timeout                    *time.Duration
}

func newClientFlags(name, usage string) *clientFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
	}
	f := &clientFlags{fs: fs}
	f.url = fs.String("url", envOr("IMAGEGW_URL", "http://127.0.0.1:3001"), "gateway URL (env IMAGEGW_URL)")
	f.user = fs.String("user", os.Getenv("IMAGEGW_USER"), "user (env IMAGEGW_USER)")
	f.password = fs.String("password", os.Getenv("IMAGEGW_PASSWORD"), "password (env IMAGEGW_PASSWORD)")
	f.driver = fs.String("driver", "", "driver")
	f.provider = fs.String("provider", "", "provider")
	f.json = fs.Bool("json", false, "print JSON")
	f.name = fs.String("name", "", "image name")
	f.description = fs.String("description", "", "image description")
	f.search = fs.String("search", "", "search text")
	f.state = fs.String("state", "", "image state")
	f.owner = fs.String("owner", "", "owner id")
	f.arch = fs.String("architecture", "", "architecture")
	f.sort = fs.String("sort", "", "sort keys")
	f.limit = fs.Int("limit", 0, "at most this many")
	f.instance = fs.String("instance", "", "instance to image")
	f.to = fs.String("to", "", "destination provider")
	f.wait = fs.Bool("wait", false, "wait for the job")
	f.timeout = fs.Duration("timeout", 30*time.Minute, "how long --wait waits")
	return f
}

// client builds the connection from the parsed flags.
func (f *clientFlags) client(stdout, stderr io.Writer) (*client, error) {
	u, err := url.Parse(strings.TrimRight(*f.url, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Errorf("--url %q is not an http(s) URL", *f.url)}
	}
	base := strings.TrimSuffix(u.String(), "/api") + "/api"
	if *f.driver != "" {
		base += ";driver=" + url.PathEscape(*f.driver)
	}
	if *f.provider != "" {
		base += ";provider=" + url.PathEscape(*f.provider)
	}
	return &client{base: base, user: *f.user, password: *f.password, json: *f.json,
		http: &http.Client{Timeout: time.Minute}, stdout: stdout, stderr: stderr, interval: 500 * time.Millisecond}, nil
}

// subcommand splits "images list ..." into its verb and the rest.
func subcommand(fs *clientFlags, usage string, out io.Writer, args []string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, usageError{fmt.Errorf("a subcommand is required\n%s", usage)}
	}
	if isHelp(args[0]) {
		fmt.Fprintln(out, usage)
		return "", nil, errHelp
	}
	pos, err := parseInterleaved(fs.fs, out, args[1:])
	return args[0], pos, err
}

func wantIDs(verb string, pos []string, n int) error {
	if len(pos) != n {
		if n == 0 {
			return usageError{fmt.Errorf("%s takes no arguments, got %v", verb, pos)}
		}
		return usageError{fmt.Errorf("%s needs an image or job id", verb)}
	}
	return nil
}

// ---- requests

// apiError is the gateway's error answer.
type apiError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("the gateway answered %d", e.Status)
	}
	return fmt.Sprintf("%s (%d %s)", e.Message, e.Status, e.Code)
}

// exitCode maps an error to the process's exit status.
func exitCode(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ae *apiError
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusNotFound:
			return exitNotFound
		case http.StatusUnauthorized, http.StatusForbidden:
			return exitAuth
		case http.StatusGatewayTimeout:
			return exitTimeout
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return exitTimeout
	}
	return exitFailed
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// do sends a request to path under /api (with query or form) and decodes
// the JSON answer into v; it returns the answer's headers.
func (c *client) do(ctx context.Context, method, path string, query, form url.Values, v any) (http.Header, []byte, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "imagegw-client")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.user != "" || c.password != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
	if err != nil {
		return nil, nil, err
	}
	if res.StatusCode >= 400 {
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(b, &e) != nil || e.Error.Status == 0 {
			e.Error = apiError{Status: res.StatusCode, Message: strings.TrimSpace(http.StatusText(res.StatusCode))}
		}
		e.Error.Status = res.StatusCode
		return res.Header, b, &e.Error
	}
	if v != nil && len(b) > 0 {
		if err := json.Unmarshal(b, v); err != nil {
			return nil, nil, fmt.Errorf("%s %s: the gateway's answer is not the JSON expected: %v", method, u, err)
		}
	}
	return res.Header, b, nil
}

// The gateway's JSON, as far as the client reads it.
type (
	imageDoc struct {
		ID           string `json:"id"`
		Name         string `json:"name"`
		Description  string `json:"description"`
		OwnerID      string `json:"owner_id"`
		Architecture string `json:"architecture"`
		State        string `json:"state"`
		CreationTime string `json:"creation_time"`
		RootType     string `json:"root_type"`
	}
	imagesDoc struct {
		Images []struct {
			Image imageDoc `json:"image"`
		} `json:"images"`
		Next string `json:"next"`
	}
	logDoc struct {
		Time    time.Time `json:"Time"`
		Message string    `json:"Message"`
	}
	jobDoc struct {
		ID       string `json:"id"`
		Kind     string `json:"kind"`
		State    string `json:"state"`
		Driver   string `json:"driver"`
		Provider string `json:"provider"`
		Image    struct {
			ID   string `json:"id"`
			Href string `json:"href"`
		} `json:"image"`
		Error   string   `json:"error"`
		Created string   `json:"created"`
		Updated string   `json:"updated"`
		Log     []logDoc `json:"log"`
	}
	propDoc struct {
		Name   string            `json:"name"`
		Kind   string            `json:"kind"`
		Unit   string            `json:"unit"`
		Value  string            `json:"value"`
		Range  map[string]string `json:"range"`
		Values []string          `json:"values"`
	}
	profileDoc struct {
		ID         string    `json:"id"`
		Name       string    `json:"name"`
		Properties []propDoc `json:"properties"`
	}
)

func (c *client) table(header string, rows [][]string) {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func (c *client) printImage(img imageDoc, raw []byte) {
	if c.json {
		c.stdout.Write(raw)
		if len(raw) > 0 && raw[len(raw)-1] != '\n' {
			fmt.Fprintln(c.stdout)
		}
		return
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, f := range [][2]string{{"id", img.ID}, {"name", img.Name}, {"description", img.Description},
		{"state", img.State}, {"owner", img.OwnerID}, {"architecture", img.Architecture},
		{"created", img.CreationTime}, {"root type", img.RootType}} {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	tw.Flush()
}

func (c *client) getImage(ctx context.Context, id string) error {
	var doc struct {
		Image imageDoc `json:"image"`
	}
	_, raw, err := c.do(ctx, "GET", "/images/"+url.PathEscape(id), nil, nil, &doc)
	if err != nil {
		return err
	}
	c.printImage(doc.Image, raw)
	return nil
}

// ---- images

func runImages(stdout, stderr io.Writer, args []string) error {
	f := newClientFlags("images", imagesUsage)
	verb, pos, err := subcommand(f, imagesUsage, stdout, args)
	if err != nil {
		return err
	}
	c, err := f.client(stdout, stderr)
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch verb {
	case "list":
		if err := wantIDs(verb, pos, 0); err != nil {
			return err
		}
		return c.listImages(ctx, f)
	case "get":
		if err := wantIDs(verb, pos, 1); err != nil {
			return err
		}
		return c.getImage(ctx, pos[0])
	case "create":
		if err := wantIDs(verb, pos, 0); err != nil {
			return err
		}
		if *f.instance == "" {
			return usageError{errors.New("create needs --instance ID (the instance to image)")}
		}
		form := url.Values{"instance_id": {*f.instance}}
		setIf(form, "name", *f.name)
		setIf(form, "description", *f.description)
		return c.started(ctx, "POST", "/images", form, f)
	case "update":
		if err := wantIDs(verb, pos, 1); err != nil {
			return err
		}
		form := url.Values{}
		setIf(form, "name", *f.name)
		setIf(form, "description", *f.description)
		if len(form) == 0 {
			return usageError{errors.New("update needs --name, --description or both")}
		}
		var doc struct {
			Image imageDoc `json:"image"`
		}
		_, raw, err := c.do(ctx, "PUT", "/images/"+url.PathEscape(pos[0]), nil, form, &doc)
		if err != nil {
			return err
		}
		c.printImage(doc.Image, raw)
		return nil
	case "clone":
		if err := wantIDs(verb, pos, 1); err != nil {
			return err
		}
		form := url.Values{}
		setIf(form, "name", *f.name)
		setIf(form, "description", *f.description)
		return c.started(ctx, "POST", "/images/"+url.PathEscape(pos[0])+"/clone", form, f)
	case "copy":
		if err := wantIDs(verb, pos, 1); err != nil {
			return err
		}
		if *f.to == "" {
			return usageError{errors.New("copy needs --to PROVIDER (the destination)")}
		}
		form := url.Values{"provider": {*f.to}}
		setIf(form, "name", *f.name)
		setIf(form, "description", *f.description)
		return c.started(ctx, "POST", "/images/"+url.PathEscape(pos[0])+"/copy", form, f)
	case "delete":
		if err := wantIDs(verb, pos, 1); err != nil {
			return err
		}
		if _, _, err := c.do(ctx, "DELETE", "/images/"+url.PathEscape(pos[0]), nil, nil, nil); err != nil {
			return err
		}
		if c.json {
			fmt.Fprintf(stdout, "{\"deleted\":%q}\n", pos[0])
		} else {
			fmt.Fprintf(stdout, "deleted %s\n", pos[0])
		}
		return nil
	}
	return usageError{fmt.Errorf("unknown subcommand %q\n%s", verb, imagesUsage)}
}

func setIf(v url.Values, k, s string) {
	if s != "" {
		v.Set(k, s)
	}
}

// listImages prints the catalog's pages: all of them, or --limit images.
func (c *client) listImages(ctx context.Context, f *clientFlags) error {
	q := url.Values{}
	setIf(q, "search", *f.search)
	setIf(q, "state", *f.state)
	setIf(q, "owner_id", *f.owner)
	setIf(q, "architecture", *f.arch)
	setIf(q, "sort", *f.sort)
	if *f.sort == "" {
		q.Set("sort", "id") // then shown in natural order: img5 before img10
	}
	if *f.limit > 0 {
		q.Set("limit", fmt.Sprint(*f.limit))
	}
	var all []imageDoc
	path := "/images"
	for {
		var doc imagesDoc
		if _, _, err := c.do(ctx, "GET", path, q, nil, &doc); err != nil {
			return err
		}
		for _, i := range doc.Images {
			all = append(all, i.Image)
		}
		if doc.Next == "" || (*f.limit > 0 && len(all) >= *f.limit) {
			break
		}
		next, err := url.Parse(doc.Next)
		if err != nil {
			return err
		}
		q = next.Query()
		q.Del("format")
	}
	if *f.limit > 0 && len(all) > *f.limit {
		all = all[:*f.limit]
	}
	if *f.sort == "" {
		slices.SortStableFunc(all, func(a, b imageDoc) int { return model.CompareIDs(a.ID, b.ID) })
	}
	if c.json {
		return json.NewEncoder(c.stdout).Encode(map[string]any{"images": all})
	}
	rows := make([][]string, len(all))
	for i, img := range all {
		rows[i] = []string{img.ID, img.Name, img.State, img.Architecture, img.OwnerID, img.Description}
	}
	c.table("ID\tNAME\tSTATE\tARCH\tOWNER\tDESCRIPTION", rows)
	return nil
}

// started sends a request that starts a job (create, clone, copy) and,
// with --wait, follows the job and prints the image it made.
func (c *client) started(ctx context.Context, method, path string, form url.Values, f *clientFlags) error {
	var doc struct {
		Image imageDoc `json:"image"`
	}
	h, raw, err := c.do(ctx, method, path, nil, form, &doc)
	if err != nil {
		return err
	}
	job := h.Get("X-Job-Id")
	if !*f.wait || job == "" {
		if !c.json && job != "" {
			defer fmt.Fprintf(c.stdout, "job:\t%s (imagegw jobs wait %s)\n", job, job)
		}
		c.printImage(doc.Image, raw)
		return nil
	}
	// a copy's image, and its job (jobs are the caller's in a provider),
	// live in the destination provider
	loc := h.Get("Location")
	cc := *c
	if i := strings.Index(loc, "/api"); i >= 0 && strings.HasSuffix(loc, "/images/"+url.PathEscape(doc.Image.ID)) {
		cc.base = strings.TrimSuffix(loc, "/images/"+url.PathEscape(doc.Image.ID))
	}
	j, err := cc.wait(ctx, job, *f.timeout)
	if err != nil {
		return err
	}
	if j.State == "failed" {
		return exitError{exitFailed, fmt.Errorf("job %s failed: %s", j.ID, j.Error)}
	}
	var img struct {
		Image imageDoc `json:"image"`
	}
	_, raw, err = cc.do(ctx, "GET", "/images/"+url.PathEscape(doc.Image.ID), nil, nil, &img)
	if err != nil {
		return err
	}
	c.printImage(img.Image, raw)
	return nil
}

// ---- jobs

// isTerminal tells whether w is a terminal, for the live progress line.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// wait polls a job until it ends or timeout passes (exit status 5). On a
// terminal stderr it keeps one line up to date: state, elapsed time, last
// log entry.
func (c *client) wait(ctx context.Context, id string, timeout time.Duration) (jobDoc, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	live := isTerminal(c.stderr)
	start := time.Now()
	for {
		var doc struct {
			Job jobDoc `json:"job"`
		}
		_, _, err := c.do(ctx, "GET", "/jobs/"+url.PathEscape(id), nil, nil, &doc)
		if err != nil {
			if live {
				fmt.Fprint(c.stderr, "\r\033[K")
			}
			if ctx.Err() != nil {
				return jobDoc{}, exitError{exitTimeout, fmt.Errorf("job %s did not end within %s", id, timeout)}
			}
			return jobDoc{}, err
		}
		j := doc.Job
		if live {
			last := ""
			if n := len(j.Log); n > 0 {
				last = j.Log[n-1].Message
			}
			fmt.Fprintf(c.stderr, "\r\033[K%s %s %s  %s", j.Kind, strings.ToUpper(j.State), time.Since(start).Truncate(100*time.Millisecond), last)
		}
		if j.State != "running" {
			if live {
				fmt.Fprintln(c.stderr)
			}
			return j, nil
		}
		select {
		case <-ctx.Done():
			if live {
				fmt.Fprintln(c.stderr)
			}
			return j, exitError{exitTimeout, fmt.Errorf("job %s is still %s after %s", id, j.State, timeout)}
		case <-time.After(c.interval):
		}
	}
}

func (c *client) printJob(j jobDoc, raw []byte) {
	if c.json {
		if raw == nil {
			raw, _ = json.Marshal(map[string]any{"job": j})
		}
		c.stdout.Write(raw)
		if len(raw) > 0 && raw[len(raw)-1] != '\n' {
			fmt.Fprintln(c.stdout)
		}
		return
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, f := range [][2]string{{"id", j.ID}, {"kind", j.Kind}, {"state", strings.ToUpper(j.State)}, {"image", j.Image.ID},
		{"driver", j.Driver}, {"provider", j.Provider}, {"error", j.Error}, {"created", j.Created}, {"updated", j.Updated}} {
		if f[1] != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
		}
	}
	tw.Flush()
	for _, l := range j.Log {
		fmt.Fprintf(c.stdout, "  %s  %s\n", l.Time.UTC().Format(time.RFC3339), l.Message)
	}
}

func runJobs(stdout, stderr io.Writer, args []string) error {
	f := newClientFlags("jobs", jobsUsage)
	verb, pos, err := subcommand(f, jobsUsage, stdout, args)
	if err != nil {
		return err
	}
	c, err := f.client(stdout, stderr)
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch verb {
	case "list":
		if err := wantIDs(verb, pos, 0); err != nil {
			return err
		}
		var doc struct {
			Jobs []struct {
				Job jobDoc `json:"job"`
			} `json:"jobs"`
		}
		_, raw, err := c.do(ctx, "GET", "/jobs", nil, nil, &doc)
		if err != nil {
			return err
		}
		if c.json {
			stdout.Write(raw)
			return nil
		}
		rows := make([][]string, len(doc.Jobs))
		for i, j := range doc.Jobs {
			rows[i] = []string{j.Job.ID, j.Job.Kind, strings.ToUpper(j.Job.State), j.Job.Image.ID, j.Job.Updated, j.Job.Error}
		}
		c.table("ID\tKIND\tSTATE\tIMAGE\tUPDATED\tERROR", rows)
		return nil
	case "get":
		if err := wantIDs(verb, pos, 1); err != nil {
			return err
		}
		var doc struct {
			Job jobDoc `json:"job"`
		}
		_, raw, err := c.do(ctx, "GET", "/jobs/"+url.PathEscape(pos[0]), nil, nil, &doc)
		if err != nil {
			return err
		}
		c.printJob(doc.Job, raw)
		return nil
	case "wait":
		if err := wantIDs(verb, pos, 1); err != nil {
			return err
		}
		j, err := c.wait(ctx, pos[0], *f.timeout)
		if err != nil {
			return err
		}
		c.printJob(j, nil)
		if j.State == "failed" {
			return exitError{exitFailed, fmt.Errorf("job %s failed: %s", j.ID, j.Error)}
		}
		return nil
	}
	return usageError{fmt.Errorf("unknown subcommand %q\n%s", verb, jobsUsage)}
}

// ---- profiles

func runProfiles(stdout, stderr io.Writer, args []string) error {
	f := newClientFlags("profiles", profilesUsage)
	verb, pos, err := subcommand(f, profilesUsage, stdout, args)
	if err != nil {
		return err
	}
	if verb != "list" {
		return usageError{fmt.Errorf("unknown subcommand %q\n%s", verb, profilesUsage)}
	}
	if err := wantIDs(verb, pos, 0); err != nil {
		return err
	}
	c, err := f.client(stdout, stderr)
	if err != nil {
		return err
	}
	q := url.Values{}
	setIf(q, "architecture", *f.arch)
	var doc struct {
		Profiles []struct {
			Profile profileDoc `json:"hardware_profile"`
		} `json:"hardware_profiles"`
	}
	_, raw, err := c.do(context.Background(), "GET", "/hardware_profiles", q, nil, &doc)
	if err != nil {
		return err
	}
	if c.json {
		stdout.Write(raw)
		return nil
	}
	rows := make([][]string, len(doc.Profiles))
	for i, p := range doc.Profiles {
		row := []string{p.Profile.ID, "", "", "", ""}
		for _, pr := range p.Profile.Properties {
			col := map[string]int{"cpu": 1, "memory": 2, "storage": 3, "architecture": 4}[pr.Name]
			if col > 0 {
				row[col] = propText(pr)
			}
		}
		rows[i] = row
	}
	c.table("ID\tCPU\tMEMORY\tSTORAGE\tARCH", rows)
	return nil
}

// propText is a profile property with its unit: "2 vCPUs", "512..4096 MB".
func propText(p propDoc) string {
	unit := p.Unit
	switch {
	case p.Name == "cpu" && (unit == "count" || unit == "") && p.Kind == "fixed" && p.Value == "1":
		unit = "vCPU"
	case p.Name == "cpu" && (unit == "count" || unit == ""):
		unit = "vCPUs"
	case unit == "label":
		unit = ""
	}
	v := p.Value
	switch p.Kind {
	case "range":
		v = p.Range["first"] + ".." + p.Range["last"]
	case "enum":
		v = strings.Join(p.Values, "|")
	}
	return strings.TrimSpace(v + " " + unit)
}
