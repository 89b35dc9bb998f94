package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// openTwice opens the store at a new address twice: two replicas.
func openTwice(t *testing.T, h Harness) (store.Store, store.Store) {
	t.Helper()
	addr := h.New(t)
	var out [2]store.Store
	for i := range out {
		s, err := h.Open(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
}

// claimWithin calls Claim until it returns a lease or d passes (leases
// expire by the store's clock).
func claimWithin(t *testing.T, l store.Leaser, ns, holder string, ttl time.Duration, n int, d time.Duration) []store.Lease {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got, err := l.Claim(context.Background(), ns, holder, ttl, n)
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		if len(got) > 0 || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testLeaser(t *testing.T, h Harness) {
	s1, s2 := openTwice(t, h)
	l1, ok := s1.(store.Leaser)
	if !ok {
		t.Skip("not a store.Leaser: callers do all the work in one process")
	}
	l2 := s2.(store.Leaser)
	ctx := context.Background()
	const short = 300 * time.Millisecond
	const long = time.Minute

	ep, ok, err := l1.Acquire(ctx, "jobs", "j1", "r1", short)
	if err != nil || !ok || ep != 1 {
		t.Fatalf("first Acquire = %d, %v, %v; want epoch 1", ep, ok, err)
	}
	if _, ok, err := l2.Acquire(ctx, "jobs", "j1", "r2", short); err != nil || ok {
		t.Fatalf("Acquire of a running lease by another holder = %v, %v; want refused", ok, err)
	}
	if ep2, ok, err := l1.Acquire(ctx, "jobs", "j1", "r1", long); err != nil || !ok || ep2 != ep {
		t.Fatalf("Acquire by the holder = %d, %v, %v; want a renewal of epoch %d", ep2, ok, err, ep)
	}
	if err := l1.Renew(ctx, "jobs", "j1", "r1", ep, short); err != nil {
		t.Fatalf("Renew by the holder: %v", err)
	}
	err = l2.Renew(ctx, "jobs", "j1", "r2", ep, short)
	if !errors.Is(err, store.ErrLeaseLost) || model.CodeOf(err) != model.FailedPrecondition {
		t.Fatalf("Renew by another holder: %v; want ErrLeaseLost", err)
	}

	// Once r1 stops renewing, r2 claims j1, and r1 learns it lost it.
	got := claimWithin(t, l2, "jobs", "r2", long, 10, 10*time.Second)
	if len(got) != 1 || got[0].Key != "j1" || got[0].Epoch != ep+1 || got[0].Previous != "r1" {
		t.Fatalf("Claim after expiry = %+v; want j1 at epoch %d from r1", got, ep+1)
	}
	if err := l1.Renew(ctx, "jobs", "j1", "r1", ep, short); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("Renew of an expired, claimed lease: %v; want ErrLeaseLost", err)
	}
	if again, err := l1.Claim(ctx, "jobs", "r1", long, 10); err != nil || len(again) != 0 {
		t.Fatalf("Claim of a running lease = %+v, %v; want none", again, err)
	}

	// Release hands it on at once; Finish removes it.
	if err := l2.Release(ctx, "jobs", "j1", "r2"); err != nil {
		t.Fatal(err)
	}
	got, err = l1.Claim(ctx, "jobs", "r1", long, 10)
	if err != nil || len(got) != 1 || got[0].Previous != "r2" || got[0].Epoch != ep+2 {
		t.Fatalf("Claim after Release = %+v, %v", got, err)
	}
	if err := l1.Finish(ctx, "jobs", "j1"); err != nil {
		t.Fatal(err)
	}
	if err := l1.Renew(ctx, "jobs", "j1", "r1", ep+2, short); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("Renew of a finished lease: %v", err)
	}
	if ep, ok, err := l2.Acquire(ctx, "jobs", "j1", "r2", short); err != nil || !ok || ep != 1 {
		t.Fatalf("Acquire after Finish = %d, %v, %v; want a new lease at epoch 1", ep, ok, err)
	}
	if _, _, err := l1.Acquire(ctx, "jobs", "j2", "", short); model.CodeOf(err) != model.InvalidArgument {
		t.Fatalf("Acquire with no holder: %v", err)
	}

	// Many claimers at once: every expired lease goes to exactly one.
	const leases, claimers = 60, 6
	for i := 0; i < leases; i++ {
		if _, ok, err := l1.Acquire(ctx, "work", fmt.Sprintf("w%02d", i), "dead", time.Millisecond); err != nil || !ok {
			t.Fatal(ok, err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	var mu sync.Mutex
	owner := map[string]string{}
	var wg sync.WaitGroup
	for c := 0; c < claimers; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			l := []store.Leaser{l1, l2}[c%2]
			me := fmt.Sprintf("c%d", c)
			for {
				got, err := l.Claim(ctx, "work", me, long, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, g := range got {
					if prev, dup := owner[g.Key]; dup {
						t.Errorf("%s claimed by %s and %s", g.Key, prev, me)
					}
					owner[g.Key] = me
				}
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	if len(owner) != leases {
		keys := make([]string, 0, len(owner))
		for k := range owner {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Fatalf("%d of %d expired leases claimed: %s", len(owner), leases, strings.Join(keys, " "))
	}
}

func testNotifier(t *testing.T, h Harness) {
	s1, s2 := openTwice(t, h)
	n1, ok := s1.(store.Notifier)
	if !ok {
		t.Skip("not a store.Notifier: one process uses the store and sees its own writes")
	}
	n2 := s2.(store.Notifier)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	sub, err := n2.Subscribe(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	other, err := n2.Subscribe(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	own, err := n1.Subscribe(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()

	// Another store in its own place hears nothing of ours.
	s3, err := h.Open(ctx, h.New(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	apart, err := s3.(store.Notifier).Subscribe(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer apart.Close()

	for _, p := range []string{"one", "two", `{"json":true}`} {
		if err := n1.Publish(ctx, "test", []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := n1.Publish(ctx, "other", []byte("marker")); err != nil {
		t.Fatal(err)
	}
	if err := s3.(store.Notifier).Publish(ctx, "test", []byte("apart")); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]store.Subscription{"other replica": sub, "publisher's own": own} {
		for i, want := range []string{"one", "two", `{"json":true}`} {
			got, err := c.Next(ctx)
			if err != nil || string(got.Payload) != want || got.Seq != int64(i+1) {
				t.Fatalf("%s subscription: Next = %d %q, %v; want %d %q in order", name, got.Seq, got.Payload, err, i+1, want)
			}
		}
	}
	if got, err := other.Next(ctx); err != nil || string(got.Payload) != "marker" || got.Seq != 1 {
		t.Fatalf("other channel: Next = %d %q, %v; want only its own message, numbered 1", got.Seq, got.Payload, err)
	}
	if got, err := apart.Next(ctx); err != nil || string(got.Payload) != "apart" {
		t.Fatalf("a store elsewhere: Next = %q, %v; want only its own message", got.Payload, err)
	}
	for ch, want := range map[string]int64{"test": 3, "other": 1, "silent": 0} {
		if got, err := n2.Sequence(ctx, ch); err != nil || got != want {
			t.Fatalf("Sequence(%s) = %d, %v; want %d", ch, got, err, want)
		}
	}
	// Concurrent publishers: every subscriber gets each number once, in
	// order, without a gap.
	var pw sync.WaitGroup
	for p := 0; p < 4; p++ {
		pw.Add(1)
		go func(p int) {
			defer pw.Done()
			for i := 0; i < 10; i++ {
				if err := []store.Notifier{n1, n2}[p%2].Publish(ctx, "test", []byte(fmt.Sprint(p, i))); err != nil {
					t.Error(err)
				}
			}
		}(p)
	}
	pw.Wait()
	for want := int64(4); want <= 43; want++ {
		got, err := sub.Next(ctx)
		if err != nil || got.Seq != want {
			t.Fatalf("message %d of concurrent publishers: %d, %v", want, got.Seq, err)
		}
	}
	if err := n1.Publish(ctx, "test", make([]byte, 9000)); model.CodeOf(err) != model.InvalidArgument {
		t.Fatalf("oversized Publish: %v", err)
	}
	// Next gives up with its context.
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := other.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with nothing to say: %v; want the context's deadline", err)
	}
}
