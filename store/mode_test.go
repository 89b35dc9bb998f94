package store

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenTightensMode: a database restored readable by others (as
// `sqlite3 .backup` or cp leaves it) is private after Open, and Open says so.
func TestOpenTightensMode(t *testing.T) {
	tests := []struct {
		name    string
		mode    os.FileMode
		wantLog bool
	}{
		{"restored 0644", 0o644, true},
		{"group readable 0640", 0o640, true},
		{"world writable 0666", 0o666, true},
		{"already private 0600", 0o600, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			s, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			s, err = Open(context.Background(), path, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("mode after Open %v, want 0600", perm)
			}
			logged := strings.Contains(logs.String(), "made it private") && strings.Contains(logs.String(), path)
			if logged != tc.wantLog {
				t.Errorf("logged = %v, want %v; log: %q", logged, tc.wantLog, logs.String())
			}
		})
	}
}
