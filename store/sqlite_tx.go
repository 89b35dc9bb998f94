package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"sync"
	"sync/atomic"

	"github.com/imagegw/imagegw/model"
)

// stmtID names one of the statements a tx runs for single documents. Each
// is prepared once per connection (see prepare) rather than once per call.
type stmtID int

const (
	stGet stmtID = iota
	stPut
	stInsert
	stDelete
	stNext
	numStmts
)

// numReadStmts counts the statements (those before stPut) View runs.
const numReadStmts = stPut

var stmtSQL = [numStmts]string{
	stGet: `SELECT val FROM documents WHERE ns = ? AND key = ?`,
	stPut: `INSERT INTO documents (ns, key, val) VALUES (?, ?, ?)
		ON CONFLICT (ns, key) DO UPDATE SET val = excluded.val`,
	stInsert: `INSERT INTO documents (ns, key, val) VALUES (?, ?, ?)
		ON CONFLICT (ns, key) DO NOTHING`,
	stDelete: `DELETE FROM documents WHERE ns = ? AND key = ?`,
	// The WHERE leaves a counter at math.MaxInt64 alone and returns no row.
	stNext: `INSERT INTO counters (ns, key, value) VALUES (?, ?, ?)
		ON CONFLICT (ns, key) DO UPDATE SET value = value + 1 WHERE value < ?
		RETURNING value`,
}

// The Scan queries are not kept prepared: a prepared statement has one
// cursor, and scans nest (fn may Scan again) and stay open while fn runs.
const (
	scanFromSQL  = `SELECT key, val FROM documents WHERE ns = ? AND key >= ? ORDER BY key`
	scanRangeSQL = `SELECT key, val FROM documents WHERE ns = ? AND key >= ? AND key < ? ORDER BY key`
)

// stmts is a set of statements prepared on one *sql.DB.
type stmts [numStmts]*sql.Stmt

// prepare prepares the first n statements on db.
func prepare(ctx context.Context, db *sql.DB, n stmtID) (*stmts, error) {
	var ss stmts
	for id := stmtID(0); id < n; id++ {
		st, err := db.PrepareContext(ctx, stmtSQL[id])
		if err != nil {
			ss.close()
			return nil, dbError(ctx, err, "prepare statement %d", id)
		}
		ss[id] = st
	}
	return &ss, nil
}

// close closes every prepared statement.
func (ss *stmts) close() error {
	var errs []error
	for _, st := range ss {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// tx is a Tx over one database/sql transaction.
type tx struct {
	ctx      context.Context // of the View or Update that made it
	sql      *sql.Tx
	readOnly bool
	done     atomic.Bool // set once View or Update has returned

	base *stmts // the store's, prepared on the DB tx runs on
	// mu is held for the whole of each single-document operation: the
	// bound statements have one cursor each, and a Tx may be shared by
	// goroutines.
	mu    sync.Mutex
	bound stmts // base's statements bound to this transaction
}

// stmt returns statement id bound to t's transaction. t.mu must be held
// until the statement's result has been read.
func (t *tx) stmt(id stmtID) *sql.Stmt {
	if t.bound[id] == nil {
		// Reuses the statement already prepared on t's connection.
		t.bound[id] = t.sql.StmtContext(t.ctx, t.base[id])
	}
	return t.bound[id]
}

// usable returns an error if t can no longer be used, or (when write is
// set) if t is read-only.
func (t *tx) usable(write bool) error {
	if t.done.Load() {
		return model.Errorf(model.Internal, "store: transaction used after it ended")
	}
	if write && t.readOnly {
		return model.Wrap(model.Internal, ErrReadOnly, "")
	}
	return nil
}

// checkName rejects the empty namespaces and keys no document can have.
func checkName(what, s string) error {
	if s == "" {
		return model.Errorf(model.InvalidArgument, "store: empty %s", what)
	}
	return nil
}

// Get returns the value under ns/key, or ErrNotFound(ns, key).
func (t *tx) Get(ns, key string) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(false); err != nil {
		return nil, err
	}
	var val []byte
	err := t.stmt(stGet).QueryRowContext(t.ctx, ns, key).Scan(&val)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound(ns, key)
	}
	if err != nil {
		return nil, dbError(t.ctx, err, "get %s %s", ns, key)
	}
	if val == nil {
		val = []byte{}
	}
	return val, nil
}

// Put sets ns/key to val.
func (t *tx) Put(ns, key string, val []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(true); err != nil {
		return err
	}
	if err := checkKey(ns, key); err != nil {
		return err
	}
	_, err := t.stmt(stPut).ExecContext(t.ctx, ns, key, blob(val))
	if err != nil {
		return dbError(t.ctx, err, "put %s %s", ns, key)
	}
	return nil
}

// Insert sets ns/key to val if absent, else fails with AlreadyExists.
func (t *tx) Insert(ns, key string, val []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(true); err != nil {
		return err
	}
	if err := checkKey(ns, key); err != nil {
		return err
	}
	res, err := t.stmt(stInsert).ExecContext(t.ctx, ns, key, blob(val))
	if err != nil {
		return dbError(t.ctx, err, "insert %s %s", ns, key)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(t.ctx, err, "insert %s %s", ns, key)
	}
	if n == 0 {
		return model.Errorf(model.AlreadyExists, "%s %s already exists", ns, key)
	}
	return nil
}

// Delete removes ns/key, or fails with ErrNotFound(ns, key).
func (t *tx) Delete(ns, key string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(true); err != nil {
		return err
	}
	res, err := t.stmt(stDelete).ExecContext(t.ctx, ns, key)
	if err != nil {
		return dbError(t.ctx, err, "delete %s %s", ns, key)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(t.ctx, err, "delete %s %s", ns, key)
	}
	if n == 0 {
		return ErrNotFound(ns, key)
	}
	return nil
}

// Scan streams the documents of ns whose key starts with prefix, in
// bytewise key order, one row at a time: memory does not grow with the size
// of the namespace. The prefix is matched with a key range, not LIKE, so
// '%' and '_' are ordinary characters. fn may use t (to write, say); a
// document it adds or removes ahead of the scan may or may not be seen.
func (t *tx) Scan(ns, prefix string, fn func(key string, val []byte) error) (err error) {
	if err := t.usable(false); err != nil {
		return err
	}
	var rows *sql.Rows
	if hi, ok := prefixEnd(prefix); ok {
		rows, err = t.sql.QueryContext(t.ctx, scanRangeSQL, ns, prefix, hi)
	} else {
		rows, err = t.sql.QueryContext(t.ctx, scanFromSQL, ns, prefix)
	}
	if err != nil {
		return dbError(t.ctx, err, "scan %s %q", ns, prefix)
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			err = dbError(t.ctx, cerr, "scan %s %q", ns, prefix)
		}
	}()
	for rows.Next() {
		var key string
		var val []byte
		if err := rows.Scan(&key, &val); err != nil {
			return dbError(t.ctx, err, "scan %s %q", ns, prefix)
		}
		if val == nil {
			val = []byte{}
		}
		// database/sql closes the rows when ctx ends, but asynchronously:
		// stop at once.
		if err := t.ctx.Err(); err != nil {
			return err
		}
		if err := fn(key, val); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return dbError(t.ctx, err, "scan %s %q", ns, prefix)
	}
	return nil
}

// Next increments the counter ns/key (creating it at start) and returns its
// new value. A counter at math.MaxInt64 fails with ResourceExhausted rather
// than wrap.
func (t *tx) Next(ns, key string, start int64) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(true); err != nil {
		return 0, err
	}
	if err := checkKey(ns, key); err != nil {
		return 0, err
	}
	var v int64
	err := t.stmt(stNext).QueryRowContext(t.ctx, ns, key, start, int64(math.MaxInt64)).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, model.Errorf(model.ResourceExhausted, "store: counter %s %s is exhausted", ns, key)
	}
	if err != nil {
		return 0, dbError(t.ctx, err, "next %s %s", ns, key)
	}
	return v, nil
}

// checkKey rejects an empty namespace or key when writing.
func checkKey(ns, key string) error {
	if err := checkName("namespace", ns); err != nil {
		return err
	}
	return checkName("key", key)
}

// blob makes a nil value an empty one: the val column is NOT NULL.
func blob(val []byte) []byte {
	if val == nil {
		return []byte{}
	}
	return val
}

// prefixEnd returns the smallest string greater than every string that
// starts with prefix, and false if there is none (prefix is empty or all
// 0xff bytes): keys compare bytewise, so it is prefix with its trailing 0xff
// bytes dropped and its last byte incremented.
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}
