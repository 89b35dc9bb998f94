package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// wantCode fails t unless err has code want.
func wantCode(t testing.TB, what string, err error, want model.Code) {
	t.Helper()
	if got := model.CodeOf(err); got != want {
		t.Fatalf("%s: error %v has code %v, want %v", what, err, got, want)
	}
}

func update(t testing.TB, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// scanAll returns the keys and values Scan gives for ns and prefix.
func scanAll(t testing.TB, s store.Store, ns, prefix string) (keys []string, vals [][]byte) {
	t.Helper()
	err := s.View(context.Background(), func(tx store.Tx) error {
		return tx.Scan(ns, prefix, func(k string, v []byte) error {
			keys = append(keys, k)
			vals = append(vals, v)
			return nil
		})
	})
	if err != nil {
		t.Fatalf("Scan(%q, %q): %v", ns, prefix, err)
	}
	return keys, vals
}

func testTxMethods(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put("images", "img1", []byte(`{"id":"img1"}`)); err != nil {
			return err
		}
		if err := tx.Put("images", "empty", nil); err != nil {
			return err
		}
		return tx.Put("other", "img1", []byte("other"))
	})

	tests := []struct {
		name     string
		op       func(store.Tx) error
		readOnly bool // run in View rather than Update
		want     model.Code
	}{
		{"get present", func(tx store.Tx) error {
			v, err := tx.Get("images", "img1")
			if err == nil && string(v) != `{"id":"img1"}` {
				return fmt.Errorf("Get = %q", v)
			}
			return err
		}, true, model.OK},
		{"get empty value is empty not nil", func(tx store.Tx) error {
			v, err := tx.Get("images", "empty")
			if err == nil && (v == nil || len(v) != 0) {
				return fmt.Errorf("Get = %#v, want []byte{}", v)
			}
			return err
		}, true, model.OK},
		{"get missing key", func(tx store.Tx) error { _, err := tx.Get("images", "nope"); return err }, true, model.NotFound},
		{"get missing namespace", func(tx store.Tx) error { _, err := tx.Get("nope", "img1"); return err }, true, model.NotFound},
		{"get empty key", func(tx store.Tx) error { _, err := tx.Get("images", ""); return err }, true, model.NotFound},
		{"get in update", func(tx store.Tx) error { _, err := tx.Get("other", "img1"); return err }, false, model.OK},
		{"put overwrites", func(tx store.Tx) error { return tx.Put("images", "img1", []byte("new")) }, false, model.OK},
		{"put empty key", func(tx store.Tx) error { return tx.Put("images", "", []byte("x")) }, false, model.InvalidArgument},
		{"put empty namespace", func(tx store.Tx) error { return tx.Put("", "k", []byte("x")) }, false, model.InvalidArgument},
		{"insert new", func(tx store.Tx) error { return tx.Insert("images", "img9", []byte("x")) }, false, model.OK},
		{"insert duplicate", func(tx store.Tx) error { return tx.Insert("images", "empty", []byte("x")) }, false, model.AlreadyExists},
		{"insert empty key", func(tx store.Tx) error { return tx.Insert("images", "", []byte("x")) }, false, model.InvalidArgument},
		{"delete present", func(tx store.Tx) error { return tx.Delete("other", "img1") }, false, model.OK},
		{"delete missing", func(tx store.Tx) error { return tx.Delete("images", "nope") }, false, model.NotFound},
		{"next", func(tx store.Tx) error { _, err := tx.Next("seq", "images", 1); return err }, false, model.OK},
		{"next empty key", func(tx store.Tx) error { _, err := tx.Next("seq", "", 1); return err }, false, model.InvalidArgument},
		{"scan in view", func(tx store.Tx) error { return tx.Scan("images", "", func(string, []byte) error { return nil }) }, true, model.OK},
		{"read-only put", func(tx store.Tx) error { return tx.Put("images", "x", nil) }, true, model.Internal},
		{"read-only insert", func(tx store.Tx) error { return tx.Insert("images", "x", nil) }, true, model.Internal},
		{"read-only delete", func(tx store.Tx) error { return tx.Delete("images", "img1") }, true, model.Internal},
		{"read-only next", func(tx store.Tx) error { _, err := tx.Next("seq", "x", 1); return err }, true, model.Internal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case runs in a transaction that is then rolled back, so
			// that cases do not see each other's writes.
			errRollback := errors.New("rollback")
			var opErr error
			run := func(tx store.Tx) error { opErr = tc.op(tx); return errRollback }
			var err error
			if tc.readOnly {
				err = s.View(ctx, run)
			} else {
				err = s.Update(ctx, run)
			}
			if !errors.Is(err, errRollback) {
				t.Fatalf("transaction returned %v, want fn's error passed through", err)
			}
			wantCode(t, tc.name, opErr, tc.want)
			if tc.readOnly && tc.want == model.Internal && !errors.Is(opErr, store.ErrReadOnly) {
				t.Fatalf("read-only write error %v does not wrap store.ErrReadOnly", opErr)
			}
		})
	}

	// Nothing the cases did survived their rollbacks.
	keys, _ := scanAll(t, s, "images", "")
	if got := strings.Join(keys, ","); got != "empty,img1" {
		t.Fatalf("images after rolled back cases = %s, want empty,img1", got)
	}
	if v, err := store.Get(ctx, s, "images", "img1"); err != nil || string(v) != `{"id":"img1"}` {
		t.Fatalf("img1 after rolled back overwrite = %q, %v", v, err)
	}
}

func testNotFoundMessage(t *testing.T, h Harness) {
	s := h.open(t)
	_, err := store.Get(context.Background(), s, "images", "img7")
	wantCode(t, "Get", err, model.NotFound)
	if msg := model.MessageOf(err); msg != "images img7 not found" {
		t.Fatalf("message %q", msg)
	}
}

func testUpdateRollsBackOnError(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	if err := store.Put(ctx, s, "ns", "keep", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	boom := model.Errorf(model.FailedPrecondition, "boom")
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, op := range []error{
			tx.Put("ns", "keep", []byte("v2")),
			tx.Put("ns", "new", []byte("x")),
			tx.Delete("ns", "keep"),
			tx.Insert("ns", "keep", []byte("v3")),
		} {
			if op != nil {
				return op
			}
		}
		if _, err := tx.Next("seq", "n", 1); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Update returned %v, want fn's error itself", err)
	}
	assertState(t, s)
}

func testUpdateRollsBackOnPanic(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	if err := store.Put(ctx, s, "ns", "keep", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the panic passed on", r)
			}
		}()
		s.Update(ctx, func(tx store.Tx) error {
			tx.Put("ns", "keep", []byte("v2"))
			tx.Put("ns", "new", []byte("x"))
			tx.Next("seq", "n", 1)
			panic("boom")
		})
		t.Fatal("Update returned after a panic in fn")
	}()
	assertState(t, s)
	// The writer connection is usable again.
	if err := store.Put(ctx, s, "ns", "after", []byte("ok")); err != nil {
		t.Fatalf("Put after panic: %v", err)
	}
}

// assertState checks that a rolled back Update left ns/keep at v1, no
// ns/new, and no counter seq/n.
func assertState(t *testing.T, s store.Store) {
	t.Helper()
	keys, vals := scanAll(t, s, "ns", "")
	if len(keys) != 1 || keys[0] != "keep" || string(vals[0]) != "v1" {
		t.Fatalf("after rollback ns holds %q = %q, want only keep = v1", keys, vals)
	}
	update(t, s, func(tx store.Tx) error {
		n, err := tx.Next("seq", "n", 1)
		if err == nil && n != 1 {
			err = fmt.Errorf("counter after rollback = %d, want a fresh 1", n)
		}
		return err
	})
}

func testNext(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	next := func(ns, key string, start int64) int64 {
		t.Helper()
		var n int64
		update(t, s, func(tx store.Tx) (err error) { n, err = tx.Next(ns, key, start); return err })
		return n
	}
	for _, tc := range []struct {
		ns, key string
		start   int64
		want    []int64
	}{
		{"seq", "images", 1, []int64{1, 2, 3}},
		{"seq", "jobs", 100, []int64{100, 101}},
		{"other", "images", 0, []int64{0, 1}},     // same key, other namespace: separate
		{"seq", "images", 50, []int64{4}},         // start only matters at creation
		{"seq", "neg", -2, []int64{-2, -1, 0, 1}}, // negative starts count up too
	} {
		for _, want := range tc.want {
			if got := next(tc.ns, tc.key, tc.start); got != want {
				t.Fatalf("Next(%s, %s, %d) = %d, want %d", tc.ns, tc.key, tc.start, got, want)
			}
		}
	}

	// A counter never goes back: deleting the documents it numbered does
	// not free their numbers.
	for i := 0; i < 3; i++ {
		update(t, s, func(tx store.Tx) error {
			n, err := tx.Next("seq", "img", 1)
			if err != nil {
				return err
			}
			return tx.Put("images", fmt.Sprint(n), []byte("x"))
		})
	}
	update(t, s, func(tx store.Tx) error {
		for _, k := range []string{"1", "2", "3"} {
			if err := tx.Delete("images", k); err != nil {
				return err
			}
		}
		return nil
	})
	if got := next("seq", "img", 1); got != 4 {
		t.Fatalf("Next after deleting every numbered document = %d, want 4", got)
	}

	// Several Next calls in one transaction see each other.
	update(t, s, func(tx store.Tx) error {
		a, _ := tx.Next("seq", "tx", 1)
		b, err := tx.Next("seq", "tx", 1)
		if err == nil && (a != 1 || b != 2) {
			err = fmt.Errorf("Next twice in one tx = %d, %d", a, b)
		}
		return err
	})

	// Exhaustion is an error, never a wrap around.
	update(t, s, func(tx store.Tx) error {
		_, err := tx.Next("seq", "max", math.MaxInt64)
		return err
	})
	err := s.Update(ctx, func(tx store.Tx) error { _, err := tx.Next("seq", "max", 1); return err })
	wantCode(t, "Next past MaxInt64", err, model.ResourceExhausted)
}

func testScanPrefix(t *testing.T, h Harness) {
	s := h.open(t)
	keys := []string{
		"a", "a%", "a%b", "a_", "a_b", "ab", "abc", "a\x00", "a\x7f", "a\x80",
		"a\xfe", "a\xfe\xff", "a\xff", "a\xff\xff", "a\xffb", "b", "%", "%%",
		"_", "_x", "\\", "\\%", "é", "éa", "ê", "\xff", "\xff\xff", "z",
	}
	index := make(map[string]int)
	update(t, s, func(tx store.Tx) error {
		for i, k := range keys {
			index[k] = i
			if err := tx.Put("docs", k, []byte(fmt.Sprint(i))); err != nil {
				return err
			}
			// The same keys in namespaces that sort either side of docs
			// must never show through.
			if err := tx.Put("doc", k, []byte("wrong ns")); err != nil {
				return err
			}
			if err := tx.Put("docsx", k, []byte("wrong ns")); err != nil {
				return err
			}
		}
		return nil
	})
	for _, prefix := range []string{
		"", "a", "a%", "a_", "a\\", "%", "_", "\\", "ab", "a\xfe", "a\xff",
		"a\xff\xff", "\xff", "\xff\xff", "\xff\xff\xff", "é", "\xc3", "zz", "a\x00",
	} {
		t.Run(fmt.Sprintf("%q", prefix), func(t *testing.T) {
			var want []string
			for _, k := range keys {
				if strings.HasPrefix(k, prefix) {
					want = append(want, k)
				}
			}
			sort.Strings(want) // Go compares strings bytewise
			got, vals := scanAll(t, s, "docs", prefix)
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
				t.Fatalf("Scan(%q) = %q, want %q", prefix, got, want)
			}
			for i, k := range got {
				if string(vals[i]) != fmt.Sprint(index[k]) {
					t.Fatalf("value of %q = %q, want %d", k, vals[i], index[k])
				}
			}
		})
	}
}

func testScanStopsAndWrites(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	update(t, s, func(tx store.Tx) error {
		for i := 0; i < 100; i++ {
			if err := tx.Put("n", fmt.Sprintf("%03d", i), []byte{byte(i)}); err != nil {
				return err
			}
		}
		return nil
	})

	// fn's error stops the scan and comes back unchanged.
	stop := errors.New("stop")
	var seen []string
	err := s.View(ctx, func(tx store.Tx) error {
		return tx.Scan("n", "", func(k string, _ []byte) error {
			seen = append(seen, k)
			if len(seen) == 3 {
				return stop
			}
			return nil
		})
	})
	if err != stop || strings.Join(seen, ",") != "000,001,002" {
		t.Fatalf("stopped scan: err %v, saw %v", err, seen)
	}

	// fn may write through the same store.Tx: deleting each document as it is
	// seen empties the namespace and visits each key once.
	var deleted int
	update(t, s, func(tx store.Tx) error {
		return tx.Scan("n", "", func(k string, _ []byte) error {
			deleted++
			return tx.Delete("n", k)
		})
	})
	if keys, _ := scanAll(t, s, "n", ""); len(keys) != 0 || deleted != 100 {
		t.Fatalf("after delete-while-scanning: %d deleted, %d left", deleted, len(keys))
	}

	// Values handed to fn are the callers' to keep.
	update(t, s, func(tx store.Tx) error {
		return errors.Join(tx.Put("v", "a", []byte("aaaa")), tx.Put("v", "b", []byte("bbbb")))
	})
	_, vals := scanAll(t, s, "v", "")
	if len(vals) != 2 || !bytes.Equal(vals[0], []byte("aaaa")) || !bytes.Equal(vals[1], []byte("bbbb")) {
		t.Fatalf("retained values = %q", vals)
	}
}

func testTxUnusableAfterReturn(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	var leaked store.Tx
	update(t, s, func(tx store.Tx) error { leaked = tx; return nil })
	wantCode(t, "Put on an ended Update tx", leaked.Put("ns", "k", nil), model.Internal)
	s.View(ctx, func(tx store.Tx) error { leaked = tx; return nil })
	_, err := leaked.Get("ns", "k")
	wantCode(t, "Get on an ended View tx", err, model.Internal)
}

func testContextCanceled(t *testing.T, h Harness) {
	s := h.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := s.Update(ctx, func(tx store.Tx) error { called = true; return tx.Put("ns", "k", nil) })
	wantCode(t, "Update with canceled ctx", err, model.Canceled)
	err = s.View(ctx, func(tx store.Tx) error { called = true; return nil })
	wantCode(t, "View with canceled ctx", err, model.Canceled)
	if called {
		t.Fatal("fn ran with a canceled context")
	}

	// Canceled while fn runs: nothing is committed.
	ctx, cancel = context.WithCancel(context.Background())
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put("ns", "k", []byte("x")); err != nil {
			return err
		}
		cancel()
		return nil
	})
	wantCode(t, "Update canceled inside fn", err, model.Canceled)
	_, err = store.Get(context.Background(), s, "ns", "k")
	wantCode(t, "Get after canceled Update", err, model.NotFound)

	// An Update waiting for the writer gives up when its deadline passes.
	hold := make(chan struct{})
	held := make(chan struct{})
	go s.Update(context.Background(), func(store.Tx) error { close(held); <-hold; return nil })
	<-held
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = s.Update(ctx, func(tx store.Tx) error { return nil })
	close(hold)
	wantCode(t, "Update waiting for the writer", err, model.DeadlineExceeded)
	// Views are not blocked by a writer.
	if err := s.View(context.Background(), func(store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrent runs many writers and readers at once. Writers move units
// between two documents and bump a counter; readers check every snapshot
// they see is consistent (the units add up) and the counter only grows.
func testConcurrent(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	const total = 1000
	update(t, s, func(tx store.Tx) error {
		return errors.Join(tx.Put("bank", "a", []byte(fmt.Sprint(total))), tx.Put("bank", "b", []byte("0")))
	})
	getInt := func(tx store.Tx, key string) (int, error) {
		v, err := tx.Get("bank", key)
		if err != nil {
			return 0, err
		}
		var n int
		_, err = fmt.Sscan(string(v), &n)
		return n, err
	}

	const writers, readers, perWriter = 8, 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	stopReaders := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				err := s.Update(ctx, func(tx store.Tx) error {
					a, err := getInt(tx, "a")
					if err != nil {
						return err
					}
					b, err := getInt(tx, "b")
					if err != nil {
						return err
					}
					if _, err := tx.Next("seq", "moves", 1); err != nil {
						return err
					}
					if err := tx.Insert("log", fmt.Sprintf("w%02d-%03d", w, i), nil); err != nil {
						return err
					}
					return errors.Join(tx.Put("bank", "a", []byte(fmt.Sprint(a-1))),
						tx.Put("bank", "b", []byte(fmt.Sprint(b+1))))
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		}(w)
	}
	var rg sync.WaitGroup
	for r := 0; r < readers; r++ {
		rg.Add(1)
		go func(r int) {
			defer rg.Done()
			for {
				select {
				case <-stopReaders:
					return
				default:
				}
				err := s.View(ctx, func(tx store.Tx) error {
					a, err := getInt(tx, "a")
					if err != nil {
						return err
					}
					b, err := getInt(tx, "b")
					if err != nil {
						return err
					}
					var logged int
					if err := tx.Scan("log", "w", func(string, []byte) error { logged++; return nil }); err != nil {
						return err
					}
					if a+b != total || logged != b {
						return fmt.Errorf("inconsistent snapshot: a=%d b=%d log=%d", a, b, logged)
					}
					return nil
				})
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
			}
		}(r)
	}
	wg.Wait()
	close(stopReaders)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	update(t, s, func(tx store.Tx) error {
		b, err := getInt(tx, "b")
		if err != nil {
			return err
		}
		n, err := tx.Next("seq", "moves", 1)
		if err != nil {
			return err
		}
		if b != writers*perWriter || n != writers*perWriter+1 {
			return fmt.Errorf("after %d moves: b=%d, next counter %d", writers*perWriter, b, n)
		}
		return nil
	})
}

// TestNestedScanAndSharedTx checks a Scan inside a Scan's fn (each keeps its
// own cursor), and one store.Tx used by several goroutines at once.
func testNestedScanAndSharedTx(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.open(t)
	update(t, s, func(tx store.Tx) error {
		for _, job := range []string{"j1", "j2", "j3"} {
			if err := tx.Put("jobs", job, nil); err != nil {
				return err
			}
			for i := 0; i < 3; i++ {
				if err := tx.Put("events", fmt.Sprintf("%s/%d", job, i), []byte(job)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	var got []string
	err := s.View(ctx, func(tx store.Tx) error {
		return tx.Scan("jobs", "j", func(job string, _ []byte) error {
			return tx.Scan("events", job+"/", func(ev string, v []byte) error {
				if _, err := tx.Get("jobs", job); err != nil {
					return err
				}
				got = append(got, ev)
				return nil
			})
		})
	})
	want := "j1/0 j1/1 j1/2 j2/0 j2/1 j2/2 j3/0 j3/1 j3/2"
	if err != nil || strings.Join(got, " ") != want {
		t.Fatalf("nested scan: %v, %v; want %s", got, err, want)
	}

	for _, readOnly := range []bool{true, false} {
		run := s.View
		if !readOnly {
			run = s.Update
		}
		err := run(ctx, func(tx store.Tx) error {
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < 50; i++ {
						if !readOnly {
							if err := tx.Put("shared", fmt.Sprintf("g%d-%02d", g, i), []byte{byte(g)}); err != nil {
								errs <- err
								return
							}
						}
						v, err := tx.Get("events", "j2/1")
						if err != nil || string(v) != "j2" {
							errs <- fmt.Errorf("Get = %q, %v", v, err)
							return
						}
						n := 0
						if err := tx.Scan("events", "j3", func(string, []byte) error { n++; return nil }); err != nil || n != 3 {
							errs <- fmt.Errorf("Scan saw %d, %v", n, err)
							return
						}
					}
				}(g)
			}
			wg.Wait()
			close(errs)
			return <-errs
		})
		if err != nil {
			t.Fatalf("shared store.Tx (readOnly=%v): %v", readOnly, err)
		}
	}
	if keys, _ := scanAll(t, s, "shared", ""); len(keys) != 8*50 {
		t.Fatalf("%d shared writes committed, want %d", len(keys), 8*50)
	}
}

func testScanStopsWhenCanceled(t *testing.T, h Harness) {
	s := h.open(t)
	update(t, s, func(tx store.Tx) error {
		for i := 0; i < 1000; i++ {
			if err := tx.Put("n", fmt.Sprintf("%04d", i), []byte("x")); err != nil {
				return err
			}
		}
		return nil
	})
	for _, readOnly := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		run := s.View
		if !readOnly {
			run = s.Update
		}
		calls := 0
		err := run(ctx, func(tx store.Tx) error {
			return tx.Scan("n", "", func(k string, _ []byte) error {
				calls++
				if calls == 3 {
					cancel()
				}
				return nil
			})
		})
		cancel()
		wantCode(t, fmt.Sprintf("Scan canceled (readOnly=%v)", readOnly), err, model.Canceled)
		if calls != 3 {
			t.Fatalf("fn called %d times, want 3: the scan went on after cancel", calls)
		}
	}
}
