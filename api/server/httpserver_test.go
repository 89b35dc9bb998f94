package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/api/server"
)

// serveWith starts NewHTTPServer(h, to) on loopback and returns its address.
func serveWith(t *testing.T, to server.Timeouts, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewHTTPServer(h, to, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// closedWithin reports whether the server closes conn (EOF or reset)
// within d, reading and discarding whatever it sends.
func closedWithin(conn net.Conn, d time.Duration) bool {
	conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

// TestServerTimeouts: a client that trickles its body, sends half a header
// or sits idle is cut off; a long answer that keeps streaming is not, though
// it lasts several times Write.
func TestServerTimeouts(t *testing.T) {
	to := server.Timeouts{ReadHeader: 300 * time.Millisecond, Read: 500 * time.Millisecond,
		Write: 400 * time.Millisecond, WriteIdle: 400 * time.Millisecond, Idle: 500 * time.Millisecond}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		if r.URL.Path == "/stream" { // 1.5 s of steady progress
			for i := range 30 {
				fmt.Fprintf(w, "chunk %02d\n", i)
				http.NewResponseController(w).Flush()
				time.Sleep(50 * time.Millisecond)
			}
			return
		}
		io.WriteString(w, "ok")
	})
	addr := serveWith(t, to, h)

	tests := []struct {
		name  string
		send  func(conn net.Conn)
		limit time.Duration // the connection must be closed within this
	}{
		{"body trickles", func(c net.Conn) {
			io.WriteString(c, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
			for range 40 {
				if _, err := c.Write([]byte("a")); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}, to.Read + time.Second},
		{"half a header", func(c net.Conn) { io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n") }, to.ReadHeader + time.Second},
		{"idle keep-alive", func(c net.Conn) { io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n") }, to.Idle + time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			go tc.send(conn)
			if !closedWithin(conn, tc.limit) {
				t.Errorf("connection still open after %v", tc.limit)
			}
		})
	}

	t.Run("long streaming answer", func(t *testing.T) {
		res, err := http.Get("http://" + addr + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		n := 0
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if !strings.HasPrefix(sc.Text(), "chunk ") {
				t.Fatalf("line %q", sc.Text())
			}
			n++
		}
		if err := sc.Err(); err != nil || n != 30 {
			t.Errorf("got %d of 30 chunks, err %v: the stream was cut", n, err)
		}
	})
}

// TestDefaultTimeouts: every bound is set, and an answer may take longer
// than a provider's default request_timeout (30s) to start.
func TestDefaultTimeouts(t *testing.T) {
	d := server.DefaultTimeouts
	for name, v := range map[string]time.Duration{"ReadHeader": d.ReadHeader, "Read": d.Read, "Write": d.Write, "WriteIdle": d.WriteIdle, "Idle": d.Idle} {
		if v <= 0 {
			t.Errorf("%s is not set", name)
		}
	}
	if d.Write <= 30*time.Second {
		t.Errorf("Write %v does not leave room for a 30s request_timeout", d.Write)
	}
}
