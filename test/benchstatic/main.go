// Command benchstatic serves captured HTTP answers byte for byte, for
// scripts/bench-limit.sh: the plain net/http server that imagegw is
// measured against. Each line of the index file is
//
//	<request path and query>\t<file>
//
// where <file>.headers holds the captured response headers (one
// "Name: value" a line) and <file>.body the body. A request for an indexed
// path gets status 200, those headers and that body; anything else 404.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
)

type answer struct {
	header http.Header
	body   []byte
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	index := flag.String("index", "", "index file: path<TAB>file per line")
	flag.Parse()
	answers, err := load(*index)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchstatic:", err)
		os.Exit(1)
	}
	err = http.ListenAndServe(*listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := answers[r.URL.RequestURI()]
		if !ok {
			http.NotFound(w, r)
			return
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
		w.WriteHeader(http.StatusOK)
		w.Write(a.body)
	}))
	fmt.Fprintln(os.Stderr, "benchstatic:", err)
	os.Exit(1)
}

func load(index string) (map[string]answer, error) {
	f, err := os.Open(index)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]answer{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		path, file, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		body, err := os.ReadFile(file + ".body")
		if err != nil {
			return nil, err
		}
		hb, err := os.ReadFile(file + ".headers")
		if err != nil {
			return nil, err
		}
		h := http.Header{}
		for _, line := range strings.Split(string(hb), "\n") {
			k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
			if !ok || strings.HasPrefix(line, "HTTP/") {
				continue
			}
			switch http.CanonicalHeaderKey(k) {
			case "Date", "Request-Id", "Response-Time", "Content-Length", "Transfer-Encoding":
				continue // per answer, or set by net/http
			}
			h.Add(k, strings.TrimSpace(v))
		}
		out[path] = answer{header: h, body: body}
	}
	return out, sc.Err()
}
