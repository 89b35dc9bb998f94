// Package store is imagegw's durable state: jobs, accounts and keys, id
// mappings, image metadata overlays and the mock cloud's data. It offers a
// small namespaced document store with transactions; callers keep their own
// JSON shapes, and the store holds no business rules.
//
// The embedded default is SQLite (pure Go, modernc.org/sqlite) in WAL mode,
// opened with Open.
package store

import (
	"context"

	"github.com/imagegw/imagegw/model"
)

// Store is durable, transactional key/value storage grouped in namespaces.
// Keys within a namespace are ordered bytewise.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction: all of its writes are made
	// durable together when fn returns nil, and none when it returns an error.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store.
	Close() error
}

// Tx reads and writes documents inside one transaction. A Tx from View
// returns an error from every write.
type Tx interface {
	// Get returns the value under ns/key, or an error with code
	// model.NotFound.
	Get(ns, key string) ([]byte, error)
	// Put sets ns/key to val.
	Put(ns, key string, val []byte) error
	// Insert sets ns/key to val only if it is absent; otherwise it returns
	// an error with code model.AlreadyExists.
	Insert(ns, key string, val []byte) error
	// Delete removes ns/key; an absent key is an error with code
	// model.NotFound.
	Delete(ns, key string) error
	// Scan calls fn for each key in ns starting with prefix, in key order,
	// until fn returns an error (which Scan returns) or the keys run out.
	Scan(ns, prefix string, fn func(key string, val []byte) error) error
	// Next returns the next value of the counter ns/key: start when the
	// counter does not exist yet (it is created with that value), else its
	// value plus one. Counters never go back or repeat.
	Next(ns, key string, start int64) (int64, error)
}

// Get is a convenience for a View that reads one value.
func Get(ctx context.Context, s Store, ns, key string) ([]byte, error) {
	var out []byte
	err := s.View(ctx, func(tx Tx) error {
		v, err := tx.Get(ns, key)
		out = v
		return err
	})
	return out, err
}

// Put is a convenience for an Update that writes one value.
func Put(ctx context.Context, s Store, ns, key string, val []byte) error {
	return s.Update(ctx, func(tx Tx) error { return tx.Put(ns, key, val) })
}

// ErrNotFound returns the error Get and Delete give for a missing key.
func ErrNotFound(ns, key string) error {
	return model.Errorf(model.NotFound, "%s %s not found", ns, key)
}
