package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/imagegw/imagegw/model"
)

// FileName is the name of the database file inside imagegw's data
// directory: Open(ctx, filepath.Join(dataDir, FileName)).
const FileName = "imagegw.db"

// readers is the size of the pool of read-only connections that serve View.
const readers = 4

// busyTimeoutMS is how long a connection waits for a lock held by another
// process (a backup, the sqlite3 shell) before giving up with SQLITE_BUSY.
const busyTimeoutMS = 10000

// ErrReadOnly is the cause of the error every write returns in a Tx from
// View. The error has code model.Internal: writing there is a bug.
var ErrReadOnly = errors.New("store: write in a read-only transaction")

// ErrClosed is the cause of the error View and Update return after Close.
var ErrClosed = errors.New("store: closed")

// options tunes Open; the zero value is what Open uses.
type options struct {
	// synchronous is the PRAGMA synchronous value; empty means FULL.
	synchronous string
	// log receives what Open changed on disk; nil discards it.
	log *slog.Logger
}

// sqliteStore is the SQLite Store: one writer connection, through which
// every Update is serialized, and a small pool of read-only connections for
// View. In WAL mode readers never block the writer nor each other.
type sqliteStore struct {
	path   string
	w      *sql.DB // exactly one connection
	r      *sql.DB // up to readers connections, query_only
	ws, rs *stmts  // statements prepared on w and r
	closed atomic.Bool
}

// Open opens (creating if needed) the SQLite database at path, brings its
// schema up to date and returns it as a Store. It refuses a database whose
// schema is newer than this code knows, with code model.FailedPrecondition.
// The parent directory is created if missing; a new database file is
// readable by its owner only.
//
// The database runs in WAL mode with synchronous=FULL: when Update returns
// nil its writes are on disk and survive a process kill or a power loss.
//
// A database file (or its -wal and -shm files) readable by others, as
// `sqlite3 .backup` or a copy restores it, is tightened to 0600 on open, and
// the change is logged through WithLogger's logger.
func Open(ctx context.Context, path string, opts ...Option) (Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return open(ctx, path, o)
}

// Option tunes Open.
type Option func(*options)

// WithLogger gives Open a logger for what it changes on disk (a database
// file's mode it tightened).
func WithLogger(log *slog.Logger) Option {
	return func(o *options) { o.log = log }
}

func open(ctx context.Context, path string, o options) (Store, error) {
	if path == "" {
		return nil, model.Errorf(model.InvalidArgument, "store: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, model.Wrap(model.InvalidArgument, err, "store: database path %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, model.Wrap(model.FailedPrecondition, err, "store: create directory for %s", abs)
	}
	// Create the file ourselves so that it (and the -wal and -shm files
	// SQLite derives from it) is private: it holds accounts and keys.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, model.Wrap(model.FailedPrecondition, err, "store: open %s", abs)
	}
	if err := f.Close(); err != nil {
		return nil, model.Wrap(model.FailedPrecondition, err, "store: open %s", abs)
	}
	if err := tighten(abs, o.log); err != nil {
		return nil, err
	}
	if o.synchronous == "" {
		o.synchronous = "FULL"
	}

	s := &sqliteStore{path: abs}
	s.w, err = sql.Open("sqlite", dsn(abs, o, false))
	if err != nil {
		return nil, model.Wrap(model.Internal, err, "store: open %s", abs)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)

	if err := migrate(ctx, s.w); err != nil {
		s.w.Close()
		return nil, err
	}

	s.r, err = sql.Open("sqlite", dsn(abs, o, true))
	if err != nil {
		s.w.Close()
		return nil, model.Wrap(model.Internal, err, "store: open %s", abs)
	}
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	s.r.SetConnMaxLifetime(0)
	s.r.SetConnMaxIdleTime(0)
	// Fail now, not at the first View, if readers cannot open.
	if err := s.r.PingContext(ctx); err != nil {
		s.r.Close()
		s.w.Close()
		return nil, dbError(ctx, err, "open reader on %s", abs)
	}
	if s.ws, err = prepare(ctx, s.w, numStmts); err != nil {
		s.r.Close()
		s.w.Close()
		return nil, err
	}
	if s.rs, err = prepare(ctx, s.r, numReadStmts); err != nil {
		s.ws.close()
		s.r.Close()
		s.w.Close()
		return nil, err
	}
	return s, nil
}

// tighten makes the database file and its -wal and -shm files private
// (0600) if a restore or a copy left them readable by others, and logs each
// change: they hold accounts and sealed credentials.
func tighten(abs string, log *slog.Logger) error {
	for _, p := range []string{abs, abs + "-wal", abs + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return model.Wrap(model.FailedPrecondition, err, "store: open %s", p)
		}
		if fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
			return model.Wrap(model.FailedPrecondition, err, "store: %s is readable by others and cannot be made private", p)
		}
		if log != nil {
			log.Warn("store: database file was readable by others; made it private", "path", p,
				"was", fmt.Sprintf("%#o", fi.Mode().Perm()), "now", fmt.Sprintf("%#o", fi.Mode().Perm()&0o700))
		}
	}
	return nil
}

// dsn builds the modernc.org/sqlite data source name for the file at abs.
// The path is a URI path, escaped, so that '?', '#' and '%' in directory
// names are taken literally.
func dsn(abs string, o options, readOnly bool) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+o.synchronous+")")
	q.Add("_pragma", "foreign_keys(1)")
	// Truncate the WAL back to 64 MiB after a checkpoint that emptied it,
	// so one large transaction does not leave a large file behind.
	q.Add("_pragma", "journal_size_limit(67108864)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// Update takes the write lock at BEGIN, so it never fails half way
		// with SQLITE_BUSY when it upgrades from reading to writing.
		q.Set("_txlock", "immediate")
	}
	// url.URL renders file:///abs; SQLite accepts that form.
	return u.String() + "?" + q.Encode()
}

// View runs fn in a read-only transaction on one of the reader connections.
func (s *sqliteStore) View(ctx context.Context, fn func(Tx) error) error {
	if s.closed.Load() {
		return model.Wrap(model.FailedPrecondition, ErrClosed, "")
	}
	sqlTx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return dbError(ctx, err, "begin read")
	}
	t := &tx{ctx: ctx, sql: sqlTx, readOnly: true, base: s.rs}
	defer func() {
		t.done.Store(true)
		sqlTx.Rollback() // a read transaction has nothing to keep
	}()
	return fn(t)
}

// Update runs fn in a read-write transaction on the writer connection
// (BEGIN IMMEDIATE). Updates are serialized: a second Update waits for the
// first, or for ctx. If fn returns an error or panics everything it wrote is
// rolled back, and the error (or the panic) is passed on unchanged. fn must
// not call Update on the same store: that waits for itself forever.
func (s *sqliteStore) Update(ctx context.Context, fn func(Tx) error) error {
	if s.closed.Load() {
		return model.Wrap(model.FailedPrecondition, ErrClosed, "")
	}
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return dbError(ctx, err, "begin write")
	}
	t := &tx{ctx: ctx, sql: sqlTx, base: s.ws}
	finished := false
	defer func() {
		if !finished { // fn panicked: undo, and let the panic go on
			t.done.Store(true)
			sqlTx.Rollback()
		}
	}()
	ferr := fn(t)
	finished = true
	t.done.Store(true)
	if ferr != nil {
		sqlTx.Rollback()
		return ferr
	}
	if err := sqlTx.Commit(); err != nil {
		return dbError(ctx, err, "commit")
	}
	return nil
}

// Close closes every connection. The last one out checkpoints the WAL into
// the database file. Close waits for transactions in flight.
func (s *sqliteStore) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	err := errors.Join(s.rs.close(), s.ws.close(), s.r.Close(), s.w.Close())
	if err != nil {
		return model.Wrap(model.Internal, err, "store: close %s", s.path)
	}
	return nil
}

// dbError turns a database error into a model error: the context's own
// error when ctx is done, Unavailable when the database is locked by another
// process, ResourceExhausted when the disk is full, Internal otherwise.
func dbError(ctx context.Context, err error, format string, args ...any) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err // model.CodeOf maps these to Canceled and DeadlineExceeded
	}
	msg := "store: " + fmt.Sprintf(format, args...)
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return model.Wrap(model.Unavailable, err, "%s: database is locked", msg)
		case sqlite3.SQLITE_FULL:
			return model.Wrap(model.ResourceExhausted, err, "%s: disk full", msg)
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return model.Wrap(model.FailedPrecondition, err, "%s: not a database or damaged", msg)
		}
	}
	return model.Wrap(model.Internal, err, "%s", msg)
}
