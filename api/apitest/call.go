package apitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/model"
)

// Response is an HTTP answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Call sends one request to rawURL, with HTTP Basic credentials when user
// is not empty and form as an application/x-www-form-urlencoded body when
// it is not nil. A transport error fails the test.
func Call(t testing.TB, method, rawURL, user, pass string, form url.Values) Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{res.StatusCode, res.Header, b}
}

// Want fails the test unless the answer has status, quoting the body.
func (r Response) Want(t testing.TB, what string, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body %.500s", what, r.Status, status, r.Body)
	}
}

// Decode decodes the JSON body into v, or fails the test.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %.300s: %v", r.Body, err)
	}
}

// Job is a job as the native front's JSON shows it.
type Job struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Error string `json:"error"`
	Image struct {
		ID string `json:"id"`
	} `json:"image"`
}

// WaitForOnlyJob polls GET api/jobs (api is a native front's /api URL,
// with its selection) as user until the caller's one job has ended, and
// returns it. More than one job, or none ended within timeout, fails t.
func WaitForOnlyJob(t testing.TB, api, user, pass string, timeout, poll time.Duration) Job {
	t.Helper()
	var job Job
	for deadline := time.Now().Add(timeout); ; {
		var list struct {
			Jobs []struct {
				Job Job `json:"job"`
			} `json:"jobs"`
		}
		r := Call(t, "GET", api+"/jobs?format=json", user, pass, nil)
		r.Want(t, "GET /jobs", 200)
		r.Decode(t, &list)
		if len(list.Jobs) > 1 {
			t.Fatalf("%d jobs, want one: %+v", len(list.Jobs), list.Jobs)
		}
		if len(list.Jobs) == 1 {
			job = list.Jobs[0].Job
			if job.State == model.JobFailed || job.State == model.JobSucceeded {
				return job
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ended job after %v: %+v", timeout, job)
		}
		time.Sleep(poll)
	}
}
