package store

import (
	"context"
	"fmt"

	"github.com/imagegw/imagegw/model"
)

// dumpTx is implemented by the transactions of stores whose whole content
// Copy can read: every namespace that holds a document, and every counter.
type dumpTx interface {
	namespaces() ([]string, error)
	counters(fn func(ns, key string, value int64) error) error
}

// loadTx is implemented by the transactions of stores Copy can write into:
// a counter set to a value (Tx.Next only moves one on).
type loadTx interface {
	setCounter(ns, key string, value int64) error
}

// CopyStats says what Copy copied.
type CopyStats struct {
	Namespaces, Documents, Counters int
}

// Copy copies every document and counter of src into dst, which must be
// empty (model.FailedPrecondition otherwise), in one read transaction of
// src and one write transaction of dst: dst gets all of it or, on any
// error, nothing. Leases and notifications are runtime state and are not
// copied. Both stores must be this package's (SQLite or PostgreSQL):
// model.Unimplemented otherwise. It is how an operator moves a gateway
// from the embedded SQLite store to PostgreSQL (imagegw store copy).
func Copy(ctx context.Context, dst, src Store) (CopyStats, error) {
	var st CopyStats
	err := src.View(ctx, func(stx Tx) error {
		from, ok := stx.(dumpTx)
		if !ok {
			return model.Errorf(model.Unimplemented, "store: the source store cannot be copied")
		}
		nss, err := from.namespaces()
		if err != nil {
			return err
		}
		return dst.Update(ctx, func(dtx Tx) error {
			st = CopyStats{}
			to, ok := dtx.(loadTx)
			dd, ok2 := dtx.(dumpTx)
			if !ok || !ok2 {
				return model.Errorf(model.Unimplemented, "store: the destination store cannot be written by Copy")
			}
			if err := empty(dd); err != nil {
				return err
			}
			for _, ns := range nss {
				st.Namespaces++
				if err := stx.Scan(ns, "", func(key string, val []byte) error {
					st.Documents++
					return dtx.Put(ns, key, val)
				}); err != nil {
					return fmt.Errorf("copying namespace %q: %w", ns, err)
				}
			}
			return from.counters(func(ns, key string, value int64) error {
				st.Counters++
				return to.setCounter(ns, key, value)
			})
		})
	})
	return st, err
}

// empty fails with FailedPrecondition unless t's store holds nothing.
func empty(t dumpTx) error {
	nss, err := t.namespaces()
	if err != nil {
		return err
	}
	n := 0
	if err := t.counters(func(string, string, int64) error { n++; return nil }); err != nil {
		return err
	}
	if len(nss) > 0 || n > 0 {
		return model.Errorf(model.FailedPrecondition, "store: the destination is not empty (%d namespaces, %d counters): copy only into a new store", len(nss), n)
	}
	return nil
}

// namespaces lists the namespaces holding documents, in order.
func (t *tx) namespaces() ([]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done.Load() {
		return nil, model.Errorf(model.Internal, "store: transaction used after it ended")
	}
	rows, err := t.sql.QueryContext(t.ctx, `SELECT DISTINCT ns FROM documents ORDER BY ns`)
	if err != nil {
		return nil, dbError(t.ctx, err, "list namespaces")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ns string
		if err := rows.Scan(&ns); err != nil {
			return nil, dbError(t.ctx, err, "list namespaces")
		}
		out = append(out, ns)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(t.ctx, err, "list namespaces")
	}
	return out, nil
}

func (t *tx) counters(fn func(ns, key string, value int64) error) error {
	t.mu.Lock()
	if t.done.Load() {
		t.mu.Unlock()
		return model.Errorf(model.Internal, "store: transaction used after it ended")
	}
	type counter struct {
		ns, key string
		value   int64
	}
	var all []counter
	rows, err := t.sql.QueryContext(t.ctx, `SELECT ns, key, value FROM counters ORDER BY ns, key`)
	if err != nil {
		t.mu.Unlock()
		return dbError(t.ctx, err, "list counters")
	}
	for rows.Next() {
		var c counter
		if err := rows.Scan(&c.ns, &c.key, &c.value); err != nil {
			rows.Close()
			t.mu.Unlock()
			return dbError(t.ctx, err, "list counters")
		}
		all = append(all, c)
	}
	rows.Close()
	err = rows.Err()
	t.mu.Unlock()
	if err != nil {
		return dbError(t.ctx, err, "list counters")
	}
	for _, c := range all {
		if err := fn(c.ns, c.key, c.value); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) setCounter(ns, key string, value int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done.Load() || t.readOnly {
		return model.Errorf(model.Internal, "store: setCounter outside a write transaction")
	}
	_, err := t.sql.ExecContext(t.ctx, `INSERT INTO counters (ns, key, value) VALUES (?, ?, ?)
		ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value`, ns, key, value)
	if err != nil {
		return dbError(t.ctx, err, "set counter %s/%s", ns, key)
	}
	return nil
}

func (t *pgTx) namespaces() ([]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(false); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(t.ctx, `SELECT DISTINCT ns FROM documents ORDER BY ns`)
	if err != nil {
		return nil, pgError(t.ctx, err, "list namespaces")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ns []byte
		if err := rows.Scan(&ns); err != nil {
			return nil, pgError(t.ctx, err, "list namespaces")
		}
		out = append(out, string(ns))
	}
	if err := rows.Err(); err != nil {
		return nil, pgError(t.ctx, err, "list namespaces")
	}
	return out, nil
}

func (t *pgTx) counters(fn func(ns, key string, value int64) error) error {
	t.mu.Lock()
	if err := t.usable(false); err != nil {
		t.mu.Unlock()
		return err
	}
	type counter struct {
		ns, key []byte
		value   int64
	}
	var all []counter
	rows, err := t.tx.Query(t.ctx, `SELECT ns, key, value FROM counters ORDER BY ns, key`)
	if err != nil {
		t.mu.Unlock()
		return pgError(t.ctx, err, "list counters")
	}
	for rows.Next() {
		var c counter
		if err := rows.Scan(&c.ns, &c.key, &c.value); err != nil {
			rows.Close()
			t.mu.Unlock()
			return pgError(t.ctx, err, "list counters")
		}
		all = append(all, c)
	}
	rows.Close()
	err = rows.Err()
	t.mu.Unlock()
	if err != nil {
		return pgError(t.ctx, err, "list counters")
	}
	for _, c := range all {
		if err := fn(string(c.ns), string(c.key), c.value); err != nil {
			return err
		}
	}
	return nil
}

func (t *pgTx) setCounter(ns, key string, value int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(true); err != nil {
		return err
	}
	_, err := t.tx.Exec(t.ctx, `INSERT INTO counters (ns, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value`, []byte(ns), []byte(key), value)
	if err != nil {
		return pgError(t.ctx, err, "set counter %s/%s", ns, key)
	}
	return nil
}
