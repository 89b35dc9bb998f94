package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashEnv names the database the helper writer process writes to.
const crashEnv = "IMAGEGW_STORE_CRASH_DB"

// crashValue is the deterministic value written under key n: big enough to
// span several pages of the WAL, and checkable after the crash.
func crashValue(n int64) []byte {
	sum := sha256.Sum256([]byte(fmt.Sprint(n)))
	return bytes.Repeat(sum[:], 64) // 2 KiB
}

func crashKey(n int64) string { return fmt.Sprintf("k%08d", n) }

// TestHelperWriter is not a test: it is the writer process that
// TestCrashKeepsAcknowledgedWrites starts and kills. Each Update takes the
// next number from a counter and writes the document, a copy in a second
// namespace and the "last" marker together; once Update has returned it
// prints "ack <key>" on stdout.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process for TestCrashKeepsAcknowledgedWrites")
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	// Bounded: the parent kills us long before this, but a helper whose
	// parent died must not write forever.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var n int64
		err := s.Update(ctx, func(tx Tx) error {
			var err error
			if n, err = tx.Next("crash", "seq", 0); err != nil {
				return err
			}
			key, val := crashKey(n), crashValue(n)
			if err := tx.Insert("crash", key, val); err != nil {
				return err
			}
			if err := tx.Put("crash-copy", key, val); err != nil {
				return err
			}
			return tx.Put("crash-meta", "last", []byte(key))
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "update:", err)
			os.Exit(2)
		}
		// One write(2) per line: a line the parent reads whole was
		// printed whole, after its Update returned.
		if _, err := os.Stdout.WriteString("ack " + crashKey(n) + "\n"); err != nil {
			os.Exit(3)
		}
	}
	os.Exit(0)
}

// TestCrashKeepsAcknowledgedWrites kills (SIGKILL) a writer process in the
// middle of a stream of writes, twice on the same database, and checks that
// every write whose Update had returned is there, whole, after reopening;
// that no transaction is half applied; and that SQLite's integrity check
// passes.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	acked := make(map[string]bool)
	for round := 0; round < 2; round++ {
		for _, k := range runAndKill(t, path, 300) {
			acked[k] = true
		}
		verifyAfterCrash(t, path, acked, round+1)
	}
}

// runAndKill starts the helper writer on path, kills it with SIGKILL after
// it has acknowledged n writes, and returns every key it acknowledged.
func runAndKill(t *testing.T, path string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	var keys []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		key, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			continue // the test framework's own output, if any
		}
		keys = append(keys, key)
		if len(keys) == n && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill writer: %v", err)
			}
			killed = true
			// Keep reading: acknowledgements already in the pipe count.
		}
	}
	werr := cmd.Wait()
	killed = true
	if len(keys) < n {
		t.Fatalf("writer acknowledged %d writes then stopped (%v): %s", len(keys), werr, stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("writer ended with %v, not by SIGKILL: %s", werr, stderr.String())
	}
	return keys
}

// verifyAfterCrash reopens path and checks every acknowledged key, after
// kills kills of the writer.
func verifyAfterCrash(t *testing.T, path string, acked map[string]bool, kills int) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()

	var check string
	if err := s.(*sqliteStore).w.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check after kill: %q, %v", check, err)
	}

	err = s.View(ctx, func(tx Tx) error {
		for k := range acked {
			v, err := tx.Get("crash", k)
			if err != nil {
				return fmt.Errorf("acknowledged %s lost: %w", k, err)
			}
			var n int64
			fmt.Sscanf(k, "k%d", &n)
			if !bytes.Equal(v, crashValue(n)) {
				return fmt.Errorf("acknowledged %s damaged", k)
			}
		}
		// Every committed transaction is whole: the copy matches, the keys
		// run 0..last without a gap, and "last" names the highest.
		var count int64
		var last string
		err := tx.Scan("crash", "", func(k string, v []byte) error {
			if k != crashKey(count) {
				return fmt.Errorf("key %s where %s was expected: a gap", k, crashKey(count))
			}
			c, err := tx.Get("crash-copy", k)
			if err != nil || !bytes.Equal(c, v) {
				return fmt.Errorf("copy of %s: %v (half a transaction)", k, err)
			}
			count++
			last = k
			return nil
		})
		if err != nil {
			return err
		}
		m, err := tx.Get("crash-meta", "last")
		if err != nil || string(m) != last {
			return fmt.Errorf("last marker %q, %v; highest key %s", m, err, last)
		}
		// At most the one transaction in flight at each kill committed
		// without being acknowledged.
		if count < int64(len(acked)) || count > int64(len(acked)+kills) {
			return fmt.Errorf("%d documents for %d acknowledged writes", count, len(acked))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d acknowledged writes all present after SIGKILL", len(acked))
}
