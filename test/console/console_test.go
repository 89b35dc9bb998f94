// Package console drives the gateway's HTML console in a real browser:
// Debian's chromium, headless, through github.com/chromedp/chromedp.
//
// Outside CI a missing chromium skips the test (make test installs it);
// under CI=true it fails. CHROMIUM names another binary.
package console

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/gateway"
)

const (
	user     = "mockuser"
	password = "mockpassword"
)

// chromium finds the browser, or skips (fails under CI=true).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required for the console test (CI=true): apt-get install -y chromium")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium; make test installs it)")
	return ""
}

// browser is one headless chromium with a fresh profile, stopped at the
// end of the test, and what it saw go wrong: console errors and answers
// of 400 or more.
type browser struct {
	t        *testing.T
	ctx      context.Context
	mu       sync.Mutex
	problems []string
	answers  map[string]int // URL -> how many answers
	signedIn bool
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(390, 844), // a phone
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() }) // stops chromium
	b := &browser{t: t, ctx: ctx, answers: map[string]int{}}

	// The first Run starts the browser; it must have no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.problem("console %s: %s (%s)", m.Type, m.Text, m.URL)
			}
		}
	}()
	responses := chromedp.Events(ctx, network.ResponseReceived)
	go func() {
		for ev, err := range responses {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.answers[ev.Response.URL]++
			signedIn := b.signedIn
			b.mu.Unlock()
			// The 401 that asks the browser to sign in is expected.
			if st := ev.Response.Status; st >= 400 && (st != 401 || signedIn) {
				b.problem("%s answered %d", ev.Response.URL, st)
			}
		}
	}()
	return b
}

func (b *browser) problem(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

// do runs steps, bounded, failing the test on an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression on the page.
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// waitFor polls a JavaScript condition until it holds, across the page
// loads and reloads in between.
func (b *browser) waitFor(what, cond string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := eval[bool](b, `document.readyState === "complete" && !!(`+cond+`)`)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := eval[string](b, `location.href + "\n" + document.body.innerText`)
			b.t.Fatalf("waiting for %s: %v\n%s", what, err, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// h1 waits for a page whose heading starts with prefix.
func (b *browser) h1(prefix string) {
	b.t.Helper()
	b.waitFor("a page titled "+prefix, fmt.Sprintf(`document.querySelector("h1") && document.querySelector("h1").textContent.startsWith(%q)`, prefix), 15*time.Second)
}

func (b *browser) text() string {
	b.t.Helper()
	s, err := eval[string](b, `document.querySelector("main").innerText`)
	if err != nil {
		b.t.Fatalf("reading the page: %v", err)
	}
	return s
}

func (b *browser) location() string {
	b.t.Helper()
	s, err := eval[string](b, `location.href`)
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *browser) rows() int {
	b.t.Helper()
	n, err := eval[int](b, `document.querySelectorAll("main table tr").length - 1`)
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

// checkPage checks what every page must be: styled by the gateway's
// stylesheet, as wide as a phone's screen, and with no broken link (each
// link and stylesheet answers 200, with the credentials the browser
// signed in with).
func (b *browser) checkPage(checked map[string]bool) {
	b.t.Helper()
	bg, err := eval[string](b, `getComputedStyle(document.querySelector("header")).backgroundColor`)
	if err != nil || bg != "rgb(20, 49, 90)" {
		b.t.Errorf("%s: the stylesheet is not applied (header background %q, %v)", b.location(), bg, err)
	}
	if wide, _ := eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth + 1`); wide {
		b.t.Errorf("%s: wider than a phone's screen", b.location())
	}
	links, err := eval[[]string](b, `Array.from(document.querySelectorAll("a[href], link[href]")).map(a => a.href)`)
	if err != nil {
		b.t.Fatal(err)
	}
	from := b.location()
	for _, l := range links {
		l, _, _ = strings.Cut(l, "#")
		if checked[l] || strings.HasPrefix(l, "data:") {
			continue
		}
		checked[l] = true
		req, _ := http.NewRequest("GET", l, nil)
		req.SetBasicAuth(user, password)
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.t.Errorf("broken link on %s: %s: %v", from, l, err)
			continue
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			b.t.Errorf("broken link on %s: %s answers %d", from, l, res.StatusCode)
		}
	}
}

// TestConsoleInChromium is a person's session in the console: sign in
// with Basic credentials, search, page, create an image from inst1 and
// watch its job to the end, rename it and delete it after confirming.
func TestConsoleInChromium(t *testing.T) {
	b := startBrowser(t)
	cfg, err := gateway.ParseConfig(strings.NewReader("mock_create_delay: 3s\njob_poll_interval: 100ms\nmock_images: 25\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := apitest.NewServer(t, cfg)
	checked := map[string]bool{}

	// Sign in: the gateway asks (401, Basic), the browser answers.
	auths := chromedp.Events(b.ctx, fetch.AuthRequired)
	paused := chromedp.Events(b.ctx, fetch.RequestPaused)
	challenged := make(chan struct{}, 8)
	authCtx, stopAuth := context.WithCancel(b.ctx)
	go func() {
		for ev, err := range paused {
			if err != nil || authCtx.Err() != nil {
				return
			}
			_, _ = chromedp.Call(authCtx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	go func() {
		for ev, err := range auths {
			if err != nil || authCtx.Err() != nil {
				return
			}
			challenged <- struct{}{}
			_, _ = chromedp.Call(authCtx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: ev.RequestID,
				AuthChallengeResponse: &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseProvideCredentials, Username: user, Password: password}})
		}
	}()
	yes := true
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &yes}); err != nil {
		t.Fatal(err)
	}
	b.do("open the console", chromedp.Navigate(srv.URL+"/api?force_auth=1"))
	b.h1("imagegw console")
	select {
	case <-challenged:
	default:
		t.Error("the browser was never asked to sign in")
	}
	if _, err := chromedp.Call(b.ctx, fetch.Disable, struct{}{}); err != nil {
		t.Fatal(err)
	}
	stopAuth()
	b.mu.Lock()
	b.signedIn = true
	b.mu.Unlock()
	entry := b.text()
	for _, w := range []string{"Images", "Hardware profiles", "Realms", "Instances", "Drivers", "Jobs"} {
		if !strings.Contains(entry, w) {
			t.Errorf("the entry page does not link %s:\n%s", w, entry)
		}
	}
	b.checkPage(checked)

	// The image list, paged by 20: 28 images.
	b.do("open Images", chromedp.Click(chromedp.CSS(`ul.collections a[href$="/api/images"]`)))
	b.h1("Images")
	if n := b.rows(); n != 20 {
		t.Errorf("page 1 has %d images, want 20", n)
	}
	b.checkPage(checked)
	b.do("next page", chromedp.Click(chromedp.CSS(`a[rel="next"]`)))
	b.waitFor("page 2", `location.search.includes("marker=")`, 10*time.Second)
	b.h1("Images")
	if n := b.rows(); n != 8 {
		t.Errorf("page 2 has %d images, want 8", n)
	}
	if !strings.Contains(b.text(), "First page") {
		t.Error("page 2 has no link to the first page")
	}
	b.checkPage(checked)

	// Search.
	b.do("search jboss",
		chromedp.SetValue(chromedp.CSS(`form[role="search"] input[name="search"]`), "jboss"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)))
	b.waitFor("the search's answer", `location.search.includes("search=jboss")`, 10*time.Second)
	b.h1("Images")
	if n, txt := b.rows(), b.text(); n != 1 || !strings.Contains(txt, "img3") {
		t.Errorf("search jboss shows %d images:\n%s", n, txt)
	}
	b.checkPage(checked)

	// Create from inst1: the browser lands on the new image, which
	// refreshes itself until its job ends.
	b.do("home", chromedp.Click(chromedp.CSS(`header a.home`)))
	b.h1("imagegw console")
	b.do("open Instances", chromedp.Click(chromedp.CSS(`ul.collections a[href$="/api/instances"]`)))
	b.h1("Instances")
	b.checkPage(checked)
	b.do("open inst1", chromedp.Click(chromedp.CSS(`a[href$="/api/instances/inst1#create-image"]`)))
	b.h1("Instance inst1")
	b.checkPage(checked)
	b.do("create an image",
		chromedp.SetValue(chromedp.CSS(`#create-image input[name="name"]`), "from-chromium"),
		chromedp.SetValue(chromedp.CSS(`#create-image input[name="description"]`), "made in a browser"),
		chromedp.Click(chromedp.CSS(`#create-image button[type="submit"]`)))
	b.h1("Image img")
	imageURL := b.location()
	if !strings.HasPrefix(imageURL, srv.URL+"/api/images/img") {
		t.Fatalf("after the create the browser is at %s", imageURL)
	}
	if txt := b.text(); !strings.Contains(txt, "PENDING") || !strings.Contains(txt, "refreshes itself") {
		t.Errorf("the new image's page shows no progress:\n%s", txt)
	}
	b.waitFor("the job to end", `document.querySelector(".job .state.SUCCEEDED") && document.querySelector("dd .state.AVAILABLE")`, 30*time.Second)
	b.mu.Lock()
	loads := b.answers[imageURL]
	b.mu.Unlock()
	if loads < 2 {
		t.Errorf("the image page was loaded %d times: it did not refresh itself", loads)
	}
	if txt := b.text(); !strings.Contains(txt, "from-chromium") || strings.Contains(txt, "refreshes itself") {
		t.Errorf("the finished image's page:\n%s", txt)
	}
	b.checkPage(checked)

	// Rename.
	b.do("rename",
		chromedp.SetValue(chromedp.CSS(`#update_image input[name="name"]`), "renamed-in-chromium"),
		chromedp.Click(chromedp.CSS(`#update_image button[type="submit"]`)))
	b.waitFor("the new name", `document.querySelector("main dl").innerText.includes("renamed-in-chromium")`, 10*time.Second)
	if loc := b.location(); loc != imageURL {
		t.Errorf("after the rename the browser is at %s, want %s", loc, imageURL)
	}

	// Delete, after confirming.
	b.do("delete", chromedp.Click(chromedp.CSS(`main a.button[href$="?confirm=delete"]`)))
	b.waitFor("the confirmation", `document.querySelector(".confirm")`, 10*time.Second)
	if txt := b.text(); !strings.Contains(txt, "renamed-in-chromium") || !strings.Contains(txt, "This cannot be undone.") {
		t.Errorf("the confirmation:\n%s", txt)
	}
	b.checkPage(checked)
	b.do("confirm", chromedp.Click(chromedp.CSS(`.confirm button.danger`)))
	b.waitFor("the image list", `location.pathname === "/api/images" && document.querySelector("h1").textContent === "Images"`, 10*time.Second)
	id := imageURL[strings.LastIndex(imageURL, "/")+1:]
	b.do("search the deleted image",
		chromedp.SetValue(chromedp.CSS(`form[role="search"] input[name="search"]`), "renamed-in-chromium"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)))
	b.waitFor("the search's answer", `location.search.includes("search=renamed")`, 10*time.Second)
	if txt := b.text(); !strings.Contains(txt, "No images match.") || strings.Contains(txt, id+"\t") {
		t.Errorf("%s is still listed:\n%s", id, txt)
	}
	if r := apitest.Call(t, "GET", srv.URL+"/api/images/"+id, user, password, nil); r.Status != 404 {
		t.Errorf("GET %s after the delete: %d", id, r.Status)
	}

	b.mu.Lock()
	problems := slices.Clone(b.problems)
	b.mu.Unlock()
	for _, p := range problems {
		t.Errorf("in the browser: %s", p)
	}
}
