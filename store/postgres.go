package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/imagegw/imagegw/model"
)

// pgMigrations is the PostgreSQL schema, version i+1 at index i. Keys and
// namespaces are bytea, so that they compare bytewise (as in SQLite) and may
// hold any byte, NUL and invalid UTF-8 included.
var pgMigrations = []migration{
	{1, "documents and counters", []string{
		`CREATE TABLE documents (
			ns  bytea NOT NULL,
			key bytea NOT NULL,
			val bytea NOT NULL,
			PRIMARY KEY (ns, key)
		)`,
		`CREATE TABLE counters (
			ns    bytea NOT NULL,
			key   bytea NOT NULL,
			value bigint NOT NULL,
			PRIMARY KEY (ns, key)
		)`,
	}},
	{2, "leases and notification channels", []string{
		`CREATE TABLE leases (
			ns      bytea NOT NULL,
			key     bytea NOT NULL,
			holder  text NOT NULL,
			epoch   bigint NOT NULL,
			expires timestamptz NOT NULL,
			PRIMARY KEY (ns, key)
		)`,
		`CREATE INDEX leases_expires ON leases (ns, expires)`,
		// Unlogged: numbering a notification costs no WAL fsync. After a
		// server crash (or on a promoted standby) it starts empty again;
		// every listener has reconnected by then and starts over too.
		`CREATE UNLOGGED TABLE channels (
			name text PRIMARY KEY,
			seq  bigint NOT NULL
		)`,
	}},
}

// PostgresSchemaVersion is the PostgreSQL schema version this code creates
// and understands.
func PostgresSchemaVersion() int { return len(pgMigrations) }

// scanBatch is how many rows a Scan fetches from its cursor at a time:
// memory stays bounded whatever the size of the namespace.
const scanBatch = 256

// defaultPoolConns is the connection pool's size unless the DSN sets
// pool_max_conns.
const defaultPoolConns = 10

// pgStore is the PostgreSQL Store. Update serializes on an advisory lock
// held for the transaction (the same one-writer-at-a-time isolation as
// SQLite's BEGIN IMMEDIATE, across every process on the database); View runs
// REPEATABLE READ READ ONLY (a consistent snapshot, as SQLite's WAL readers
// have).
type pgStore struct {
	pool   *pgxpool.Pool
	cfg    *pgx.ConnConfig // for the listening connections of Subscribe
	schema string
	wlock  int64         // advisory lock key of Update
	wmu    chan struct{} // one Update of this process waits for wlock at a time
	closed atomic.Bool
}

// OpenPostgres connects to the PostgreSQL database dsn (a URL or key=value
// string, as libpq takes; search_path selects the schema, which must exist),
// brings its schema up to date and returns it as a Store. Several processes
// may open one database at once: migrations run once, under an advisory
// lock. It refuses a schema newer than this code knows, with code
// model.FailedPrecondition.
//
// The store also implements Leaser and Notifier.
func OpenPostgres(ctx context.Context, dsn string) (Store, error) {
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN: keep it out of ours.
		return nil, model.Errorf(model.InvalidArgument, "store: cannot parse the PostgreSQL DSN")
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		pcfg.MaxConns = defaultPoolConns
	}
	if _, ok := pcfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		pcfg.ConnConfig.RuntimeParams["application_name"] = "imagegw"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, pgError(ctx, err, "connect")
	}
	s := &pgStore{pool: pool, cfg: pcfg.ConnConfig.Copy(), wmu: make(chan struct{}, 1)}
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, pgError(ctx, err, "connect")
	}
	if schema == nil {
		pool.Close()
		return nil, model.Errorf(model.FailedPrecondition, "store: no schema of the search_path exists: create it first")
	}
	s.schema = *schema
	s.wlock = lockKey("write", s.schema)
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// lockKey is the advisory lock key of what in schema: imagegw installations
// in different schemas of one database do not share locks.
func lockKey(what, schema string) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "imagegw %s %s", what, schema)
	return int64(h.Sum64())
}

// migrate applies the migrations the database has not seen, each in its
// own transaction, while holding a session advisory lock: replicas starting
// together wait for each other, and each re-reads the version. A process
// killed half way rolls its transaction back and frees the lock.
func (s *pgStore) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return pgError(ctx, err, "migrate")
	}
	defer conn.Release()
	key := lockKey("migrate", s.schema)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return pgError(ctx, err, "lock for migrations")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return pgError(ctx, err, "create schema_migrations")
	}
	for _, m := range pgMigrations {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var cur int
			if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
				return pgError(ctx, err, "read schema version")
			}
			if cur > len(pgMigrations) {
				return model.Errorf(model.FailedPrecondition,
					"store: database schema version %d is newer than this imagegw knows (%d): run a newer imagegw or restore a backup",
					cur, len(pgMigrations))
			}
			if cur >= m.version {
				return nil
			}
			for _, stmt := range m.stmts {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return pgError(ctx, err, "migration %d (%s)", m.version, m.name)
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return pgError(ctx, err, "record migration %d", m.version)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// View runs fn in a REPEATABLE READ, READ ONLY transaction: every read sees
// one snapshot.
func (s *pgStore) View(ctx context.Context, fn func(Tx) error) error {
	if s.closed.Load() {
		return model.Wrap(model.FailedPrecondition, ErrClosed, "")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return pgError(ctx, err, "begin read")
	}
	t := &pgTx{ctx: ctx, tx: ptx, readOnly: true}
	defer func() {
		t.done.Store(true)
		ptx.Rollback(context.WithoutCancel(ctx))
	}()
	return fn(t)
}

// Update runs fn in a transaction holding the store's write lock (an
// advisory transaction lock): updates are serialized across every process
// on the database, and each statement of fn sees every update committed
// before it. If fn returns an error or panics everything it wrote is rolled
// back and the error (or the panic) is passed on unchanged. fn must not call
// Update on the same store.
func (s *pgStore) Update(ctx context.Context, fn func(Tx) error) error {
	if s.closed.Load() {
		return model.Wrap(model.FailedPrecondition, ErrClosed, "")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case s.wmu <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.wmu }()
	ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return pgError(ctx, err, "begin write")
	}
	t := &pgTx{ctx: ctx, tx: ptx}
	finished := false
	defer func() {
		t.done.Store(true)
		if !finished {
			ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err := ptx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.wlock); err != nil {
		finished = true
		ptx.Rollback(context.WithoutCancel(ctx))
		return pgError(ctx, err, "take the write lock")
	}
	ferr := fn(t)
	finished = true
	t.done.Store(true)
	if ferr == nil {
		ferr = ctx.Err() // canceled while fn ran: commit nothing
	}
	if ferr != nil {
		ptx.Rollback(context.WithoutCancel(ctx))
		return ferr
	}
	if err := ptx.Commit(ctx); err != nil {
		return pgError(ctx, err, "commit")
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be released.
func (s *pgStore) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.pool.Close()
	return nil
}

// pgTx is a Tx over one pgx transaction. A pgx connection runs one
// statement at a time, so mu is held for each statement; a Scan reads
// through a server-side cursor in batches, so that fn may run statements
// (and further Scans) on the same transaction between batches.
type pgTx struct {
	ctx      context.Context
	tx       pgx.Tx
	readOnly bool
	done     atomic.Bool

	mu      sync.Mutex
	cursors int // names the cursors of Scan
}

func (t *pgTx) usable(write bool) error {
	if t.done.Load() {
		return model.Errorf(model.Internal, "store: transaction used after it ended")
	}
	if write && t.readOnly {
		return model.Wrap(model.Internal, ErrReadOnly, "")
	}
	return nil
}

// Get returns the value under ns/key, or ErrNotFound(ns, key).
func (t *pgTx) Get(ns, key string) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(false); err != nil {
		return nil, err
	}
	var val []byte
	err := t.tx.QueryRow(t.ctx, `SELECT val FROM documents WHERE ns = $1 AND key = $2`, []byte(ns), []byte(key)).Scan(&val)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound(ns, key)
	}
	if err != nil {
		return nil, pgError(t.ctx, err, "get %s %s", ns, key)
	}
	if val == nil {
		val = []byte{}
	}
	return val, nil
}

// Put sets ns/key to val.
func (t *pgTx) Put(ns, key string, val []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(true); err != nil {
		return err
	}
	if err := checkKey(ns, key); err != nil {
		return err
	}
	_, err := t.tx.Exec(t.ctx, `INSERT INTO documents (ns, key, val) VALUES ($1, $2, $3)
		ON CONFLICT (ns, key) DO UPDATE SET val = excluded.val`, []byte(ns), []byte(key), blob(val))
	if err != nil {
		return pgError(t.ctx, err, "put %s %s", ns, key)
	}
	return nil
}

// Insert sets ns/key to val if absent, else fails with AlreadyExists.
func (t *pgTx) Insert(ns, key string, val []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(true); err != nil {
		return err
	}
	if err := checkKey(ns, key); err != nil {
		return err
	}
	tag, err := t.tx.Exec(t.ctx, `INSERT INTO documents (ns, key, val) VALUES ($1, $2, $3)
		ON CONFLICT (ns, key) DO NOTHING`, []byte(ns), []byte(key), blob(val))
	if err != nil {
		return pgError(t.ctx, err, "insert %s %s", ns, key)
	}
	if tag.RowsAffected() == 0 {
		return model.Errorf(model.AlreadyExists, "%s %s already exists", ns, key)
	}
	return nil
}

// Delete removes ns/key, or fails with ErrNotFound(ns, key).
func (t *pgTx) Delete(ns, key string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(true); err != nil {
		return err
	}
	tag, err := t.tx.Exec(t.ctx, `DELETE FROM documents WHERE ns = $1 AND key = $2`, []byte(ns), []byte(key))
	if err != nil {
		return pgError(t.ctx, err, "delete %s %s", ns, key)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound(ns, key)
	}
	return nil
}

// Next increments the counter ns/key (creating it at start) and returns its
// new value; a counter at math.MaxInt64 fails with ResourceExhausted.
func (t *pgTx) Next(ns, key string, start int64) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(true); err != nil {
		return 0, err
	}
	if err := checkKey(ns, key); err != nil {
		return 0, err
	}
	var v int64
	err := t.tx.QueryRow(t.ctx, `INSERT INTO counters (ns, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (ns, key) DO UPDATE SET value = counters.value + 1 WHERE counters.value < $4
		RETURNING value`, []byte(ns), []byte(key), start, int64(math.MaxInt64)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, model.Errorf(model.ResourceExhausted, "store: counter %s %s is exhausted", ns, key)
	}
	if err != nil {
		return 0, pgError(t.ctx, err, "next %s %s", ns, key)
	}
	return v, nil
}

// Scan streams the documents of ns whose key starts with prefix, in
// bytewise key order, through a cursor read scanBatch rows at a time.
func (t *pgTx) Scan(ns, prefix string, fn func(key string, val []byte) error) (err error) {
	t.mu.Lock()
	if err := t.usable(false); err != nil {
		t.mu.Unlock()
		return err
	}
	t.cursors++
	cur := fmt.Sprintf("imagegw_scan_%d", t.cursors)
	q := `DECLARE ` + cur + ` NO SCROLL CURSOR FOR SELECT key, val FROM documents WHERE ns = $1 AND key >= $2`
	args := []any{[]byte(ns), []byte(prefix)}
	if hi, ok := prefixEnd(prefix); ok {
		q += ` AND key < $3`
		args = append(args, []byte(hi))
	}
	_, err = t.tx.Exec(t.ctx, q+` ORDER BY key`, args...)
	t.mu.Unlock()
	if err != nil {
		return pgError(t.ctx, err, "scan %s %q", ns, prefix)
	}
	defer func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.done.Load() || t.ctx.Err() != nil {
			return // the transaction's end closes the cursor
		}
		if _, cerr := t.tx.Exec(t.ctx, `CLOSE `+cur); cerr != nil && err == nil {
			err = pgError(t.ctx, cerr, "scan %s %q", ns, prefix)
		}
	}()
	type row struct {
		key string
		val []byte
	}
	batch := make([]row, 0, scanBatch)
	for {
		batch = batch[:0]
		t.mu.Lock()
		if err := t.usable(false); err != nil {
			t.mu.Unlock()
			return err
		}
		rows, err := t.tx.Query(t.ctx, fmt.Sprintf(`FETCH %d FROM %s`, scanBatch, cur))
		if err == nil {
			for rows.Next() {
				var k, v []byte
				if err = rows.Scan(&k, &v); err != nil {
					break
				}
				if v == nil {
					v = []byte{}
				}
				batch = append(batch, row{string(k), v})
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
		t.mu.Unlock()
		if err != nil {
			return pgError(t.ctx, err, "scan %s %q", ns, prefix)
		}
		for _, r := range batch {
			if err := t.ctx.Err(); err != nil {
				return err
			}
			if err := fn(r.key, r.val); err != nil {
				return err
			}
		}
		if len(batch) < scanBatch {
			return nil
		}
	}
}

// pgError turns a PostgreSQL or connection error into a model error: the
// context's own error when ctx is done; Unavailable when the server cannot
// be reached, is shutting down, or refuses connections; ResourceExhausted
// when it is out of disk or memory; Internal otherwise.
func pgError(ctx context.Context, err error, format string, args ...any) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := "store: " + fmt.Sprintf(format, args...)
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100" || pe.Code == "53200" || pe.Code == "54000":
			return model.Wrap(model.ResourceExhausted, err, "%s: the database is out of space or memory", msg)
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "57P"), pe.Code == "53300",
			pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03":
			return model.Wrap(model.Unavailable, err, "%s: database unavailable or busy", msg)
		}
		return model.Wrap(model.Internal, err, "%s", msg)
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) || isConnErr(err) {
		return model.Wrap(model.Unavailable, err, "%s: database unavailable", msg)
	}
	return model.Wrap(model.Internal, err, "%s", msg)
}

// isConnErr reports whether err comes from the connection rather than the
// server: a dial, a broken or closed connection.
func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "conn closed") || strings.Contains(s, "connection reset") ||
		strings.Contains(s, "broken pipe") || strings.Contains(s, "EOF") || strings.Contains(s, "closed pool")
}
