// Package storetest is the conformance suite of store.Store
// implementations, as drivers/drivertest is for drivers: a store passes
// RunConformanceTests with a small Harness and needs no other tests for the
// semantics of the Store interface (transactions, isolation, ordering,
// counters, errors, durability after SIGKILL) nor for the optional Leaser
// and Notifier capabilities it implements.
//
//	func TestConformance(t *testing.T) { storetest.RunConformanceTests(t, harness) }
//	func TestStoretestHelper(t *testing.T) { storetest.HelperWriter(t, harness) }
package storetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// Harness tells the suite how to make and open stores of one kind.
type Harness struct {
	// New returns the address of a new, empty store (a file path, a DSN):
	// what Open takes. It is cleaned up when t ends.
	New func(t *testing.T) string
	// Open opens the store at addr. The crash test calls it in a child
	// process too.
	Open func(ctx context.Context, addr string) (store.Store, error)
	// Check, if set, runs the backend's own consistency check on the store
	// at addr after a crash (SQLite's integrity_check, say).
	Check func(t *testing.T, addr string)
	// HelperTest names the caller's test function that calls HelperWriter:
	// the crash test re-executes the test binary to run it.
	HelperTest string
}

// open opens a new store, closed when t ends.
func (h Harness) open(t *testing.T) store.Store {
	t.Helper()
	s, err := h.Open(context.Background(), h.New(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// RunConformanceTests runs the whole suite against the stores h makes.
func RunConformanceTests(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"TxMethods", testTxMethods},
		{"NotFoundMessage", testNotFoundMessage},
		{"UpdateRollsBackOnError", testUpdateRollsBackOnError},
		{"UpdateRollsBackOnPanic", testUpdateRollsBackOnPanic},
		{"Next", testNext},
		{"ScanPrefix", testScanPrefix},
		{"ScanStopsAndWrites", testScanStopsAndWrites},
		{"ScanLarge", testScanLarge},
		{"TxUnusableAfterReturn", testTxUnusableAfterReturn},
		{"ContextCanceled", testContextCanceled},
		{"Closed", testClosed},
		{"ReopenKeepsData", testReopenKeepsData},
		{"ConcurrentOpen", testConcurrentOpen},
		{"Concurrent", testConcurrent},
		{"NestedScanAndSharedTx", testNestedScanAndSharedTx},
		{"ScanStopsWhenCanceled", testScanStopsWhenCanceled},
		{"CrashKeepsAcknowledgedWrites", testCrash},
		{"Leaser", testLeaser},
		{"Notifier", testNotifier},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// testScanLarge scans more documents than any backend's batch, nesting a
// Get and a write in fn, and checks every key comes once, in order.
func testScanLarge(t *testing.T, h Harness) {
	s := h.open(t)
	const n = 2000
	update(t, s, func(tx store.Tx) error {
		for i := 0; i < n; i++ {
			if err := tx.Put("big", fmt.Sprintf("%05d", i), []byte(fmt.Sprint(i))); err != nil {
				return err
			}
		}
		return nil
	})
	seen := 0
	update(t, s, func(tx store.Tx) error {
		return tx.Scan("big", "", func(k string, v []byte) error {
			if want := fmt.Sprintf("%05d", seen); k != want || string(v) != fmt.Sprint(seen) {
				return fmt.Errorf("key %d is %q = %q", seen, k, v)
			}
			seen++
			if _, err := tx.Get("big", k); err != nil {
				return err
			}
			return tx.Put("big-copy", k, v)
		})
	})
	if keys, _ := scanAll(t, s, "big-copy", ""); seen != n || len(keys) != n {
		t.Fatalf("scanned %d, copied %d, want %d", seen, len(keys), n)
	}
}

func testClosed(t *testing.T, h Harness) {
	s, err := h.Open(context.Background(), h.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.View(context.Background(), func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("View after Close: %v", err)
	}
	if err := s.Update(context.Background(), func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Update after Close: %v", err)
	}
}

func testReopenKeepsData(t *testing.T, h Harness) {
	ctx := context.Background()
	addr := h.New(t)
	for round := 0; round < 3; round++ {
		s, err := h.Open(ctx, addr)
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		err = s.Update(ctx, func(tx store.Tx) error {
			n, err := tx.Next("seq", "rounds", 0)
			if err != nil {
				return err
			}
			if n != int64(round) {
				return fmt.Errorf("counter = %d, want %d", n, round)
			}
			for r := 0; r < round; r++ {
				v, err := tx.Get("rounds", fmt.Sprint(r))
				if err != nil || string(v) != fmt.Sprintf("written in round %d", r) {
					return fmt.Errorf("round %d value: %q, %v", r, v, err)
				}
			}
			return tx.Insert("rounds", fmt.Sprint(round), []byte(fmt.Sprintf("written in round %d", round)))
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// testConcurrentOpen opens one new store four times at once (replicas
// starting together, migrating together), and the four work on one state.
func testConcurrentOpen(t *testing.T, h Harness) {
	ctx := context.Background()
	addr := h.New(t)
	const n = 4
	stores := make([]store.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			stores[i], errs[i] = h.Open(ctx, addr)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	if err := store.Put(ctx, stores[1], "ns", "k", []byte("from 1")); err != nil {
		t.Fatal(err)
	}
	if v, err := store.Get(ctx, stores[3], "ns", "k"); err != nil || string(v) != "from 1" {
		t.Fatalf("another store on the same database reads %q, %v", v, err)
	}
	// Updates through different stores are serialized: no lost update.
	var uw sync.WaitGroup
	for i := range stores {
		uw.Add(1)
		go func(s store.Store) {
			defer uw.Done()
			for j := 0; j < 20; j++ {
				err := s.Update(ctx, func(tx store.Tx) error {
					v, err := tx.Get("ns", "count")
					if err != nil && !model.IsNotFound(err) {
						return err
					}
					var c int
					fmt.Sscan(string(v), &c)
					return tx.Put("ns", "count", []byte(fmt.Sprint(c+1)))
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(stores[i])
	}
	uw.Wait()
	if v, err := store.Get(ctx, stores[0], "ns", "count"); err != nil || string(v) != fmt.Sprint(n*20) {
		t.Fatalf("after %d read-modify-write updates through %d stores: %q, %v", n*20, n, v, err)
	}
}

// crashEnv names the store the helper writer process writes to.
const crashEnv = "IMAGEGW_STORETEST_CRASH_ADDR"

// crashValue is the deterministic value written under key n.
func crashValue(n int64) []byte {
	sum := sha256.Sum256([]byte(fmt.Sprint(n)))
	return bytes.Repeat(sum[:], 64) // 2 KiB
}

func crashKey(n int64) string { return fmt.Sprintf("k%08d", n) }

// HelperWriter is the writer process of the crash test: call it from the
// test named h.HelperTest. Outside the crash test it skips. Each Update
// takes the next number from a counter and writes the document, a copy in
// a second namespace and the "last" marker together; once Update has
// returned it prints "ack <key>".
func HelperWriter(t *testing.T, h Harness) {
	addr := os.Getenv(crashEnv)
	if addr == "" {
		t.Skip("helper process of the store conformance crash test")
	}
	ctx := context.Background()
	s, err := h.Open(ctx, addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	deadline := time.Now().Add(2 * time.Minute) // bounded if the parent died
	for time.Now().Before(deadline) {
		var n int64
		err := s.Update(ctx, func(tx store.Tx) error {
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
		if _, err := os.Stdout.WriteString("ack " + crashKey(n) + "\n"); err != nil {
			os.Exit(3)
		}
	}
	os.Exit(0)
}

// testCrash kills (SIGKILL) a writer process in the middle of a stream of
// writes, twice on the same store, and checks that every write whose Update
// had returned is there, whole; that no transaction is half applied; and
// the backend's own check.
func testCrash(t *testing.T, h Harness) {
	if h.HelperTest == "" {
		t.Fatal("Harness.HelperTest is empty: the crash test needs a test calling HelperWriter")
	}
	addr := h.New(t)
	acked := make(map[string]bool)
	for round := 0; round < 2; round++ {
		for _, k := range runAndKill(t, h, addr, 300) {
			acked[k] = true
		}
		verifyAfterCrash(t, h, addr, acked, round+1)
	}
}

func runAndKill(t *testing.T, h Harness, addr string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+h.HelperTest+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+addr)
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
		key, ok := strings.CutPrefix(sc.Text(), "ack ")
		if !ok {
			continue
		}
		keys = append(keys, key)
		if len(keys) == n && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill writer: %v", err)
			}
			killed = true // acknowledgements already in the pipe still count
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

func verifyAfterCrash(t *testing.T, h Harness, addr string, acked map[string]bool, kills int) {
	t.Helper()
	ctx := context.Background()
	s, err := h.Open(ctx, addr)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	if h.Check != nil {
		h.Check(t, addr)
	}
	err = s.View(ctx, func(tx store.Tx) error {
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
