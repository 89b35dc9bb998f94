package store

import (
	"context"
	"errors"
	"time"
)

// Optional capabilities. A Store may implement more than the Store
// interface; callers detect a capability with a type assertion, as
// database/sql detects a driver's optional interfaces, and each
// capability's documentation says what callers do without it. The SQLite
// store (one process) has none; the PostgreSQL store (several replicas)
// has both.

// Leaser is implemented by stores shared by several processes: it grants
// time-limited, exclusive leases on named pieces of work, so that each is
// done by one process at a time and taken over when its holder dies.
// Expiry is measured by the store's clock, not the callers'.
//
// Without a Leaser, the store belongs to one process: the caller does all
// the work itself (the gateway's job runner follows every job, and resumes
// all of them at a restart).
type Leaser interface {
	// Acquire takes the lease ns/key for holder, for ttl, if no one holds
	// it, its holder's lease has expired, or holder holds it already
	// (which renews it). ok is false when another holder's lease is still
	// running. epoch grows each time the lease changes hands: writes made
	// under a lease can carry it, so that a holder that lost its lease is
	// recognized.
	Acquire(ctx context.Context, ns, key, holder string, ttl time.Duration) (epoch int64, ok bool, err error)
	// Renew extends holder's lease ns/key of epoch to ttl from now. It
	// fails with ErrLeaseLost (code FailedPrecondition) when the lease has
	// passed to another holder or been finished.
	Renew(ctx context.Context, ns, key, holder string, epoch int64, ttl time.Duration) error
	// Release gives holder's lease up at once, without finishing it: Claim
	// hands it to the next caller. Releasing a lease one no longer holds
	// does nothing.
	Release(ctx context.Context, ns, key, holder string) error
	// Finish removes the lease ns/key for good: the work is done.
	Finish(ctx context.Context, ns, key string) error
	// Claim takes up to n leases of ns that have expired or been released,
	// oldest expiry first, for holder, for ttl. Concurrent claimers never
	// get the same lease: each skips the rows another is claiming
	// (SELECT ... FOR UPDATE SKIP LOCKED).
	Claim(ctx context.Context, ns, holder string, ttl time.Duration, n int) ([]Lease, error)
}

// Lease is a lease Claim took.
type Lease struct {
	Key   string
	Epoch int64
	// Previous is the holder whose lease expired or who released it.
	Previous string
}

// ErrLeaseLost is the cause of the error Renew returns when the caller no
// longer holds the lease.
var ErrLeaseLost = errors.New("store: lease lost")

// Notifier is implemented by stores shared by several processes: it
// carries small messages from one process to every process listening, so
// that caches kept beside the store stay true.
//
// Without a Notifier only one process uses the store, and a process's
// caches see every write because it made them.
type Notifier interface {
	// Publish sends payload (at most 7,900 bytes) to every current
	// subscriber of channel, the publisher's own included, numbered with
	// the channel's next sequence number, once the store has accepted it.
	// Subscribers get a channel's messages in sequence order. Delivery is
	// at most once: a subscriber that loses its connection misses what was
	// sent meanwhile, and learns it from Next's error.
	Publish(ctx context.Context, channel string, payload []byte) error
	// Sequence returns the number of the last message published on
	// channel (0 for none): a subscriber that has handled that message has
	// handled everything published before the call, which is how a reader
	// makes sure its cache has heard of every write that preceded it.
	Sequence(ctx context.Context, channel string) (int64, error)
	// Subscribe starts listening on channel. Messages published before it
	// returns are not delivered.
	Subscribe(ctx context.Context, channel string) (Subscription, error)
}

// Message is one message of a Notifier channel.
type Message struct {
	Seq     int64 // the channel's sequence number, from 1
	Payload []byte
}

// Subscription is one listener of a Notifier channel.
type Subscription interface {
	// Next waits for the next message. An error other than ctx's means
	// the subscription is broken and messages may have been missed: the
	// caller drops what the messages keep true, closes it and subscribes
	// again.
	Next(ctx context.Context) (Message, error)
	// Close stops listening.
	Close() error
}
