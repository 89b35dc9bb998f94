package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/imagegw/imagegw/model"
)

// Leases and notifications of the PostgreSQL store. Lease statements run
// on their own (autocommit), not under Update's write lock: a lease row is
// changed by one statement, which PostgreSQL makes atomic, and Claim skips
// the rows another claimer has locked. Expiry is the database's clock.

var (
	_ Leaser   = (*pgStore)(nil)
	_ Notifier = (*pgStore)(nil)
)

// micros is ttl in microseconds, for "$n * interval '1 microsecond'".
func micros(ttl time.Duration) int64 { return ttl.Microseconds() }

func checkLease(ns, key, holder string, ttl time.Duration) error {
	if err := checkKey(ns, key); err != nil {
		return err
	}
	if holder == "" {
		return model.Errorf(model.InvalidArgument, "store: empty lease holder")
	}
	if ttl <= 0 {
		return model.Errorf(model.InvalidArgument, "store: lease ttl %v is not positive", ttl)
	}
	return nil
}

// Acquire implements Leaser.
func (s *pgStore) Acquire(ctx context.Context, ns, key, holder string, ttl time.Duration) (int64, bool, error) {
	if err := checkLease(ns, key, holder, ttl); err != nil {
		return 0, false, err
	}
	var epoch int64
	err := s.pool.QueryRow(ctx, `INSERT INTO leases (ns, key, holder, epoch, expires)
		VALUES ($1, $2, $3, 1, clock_timestamp() + $4 * interval '1 microsecond')
		ON CONFLICT (ns, key) DO UPDATE SET
			epoch = CASE WHEN leases.holder = excluded.holder THEN leases.epoch ELSE leases.epoch + 1 END,
			holder = excluded.holder, expires = excluded.expires
		WHERE leases.holder = excluded.holder OR leases.expires < clock_timestamp()
		RETURNING epoch`, []byte(ns), []byte(key), holder, micros(ttl)).Scan(&epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, pgError(ctx, err, "acquire lease %s %s", ns, key)
	}
	return epoch, true, nil
}

// Renew implements Leaser.
func (s *pgStore) Renew(ctx context.Context, ns, key, holder string, epoch int64, ttl time.Duration) error {
	if err := checkLease(ns, key, holder, ttl); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE leases SET expires = clock_timestamp() + $5 * interval '1 microsecond'
		WHERE ns = $1 AND key = $2 AND holder = $3 AND epoch = $4`, []byte(ns), []byte(key), holder, epoch, micros(ttl))
	if err != nil {
		return pgError(ctx, err, "renew lease %s %s", ns, key)
	}
	if tag.RowsAffected() == 0 {
		return model.Wrap(model.FailedPrecondition, ErrLeaseLost, "store: lease %s %s (epoch %d) is no longer %s's", ns, key, epoch, holder)
	}
	return nil
}

// Release implements Leaser: the lease stays, expired.
func (s *pgStore) Release(ctx context.Context, ns, key, holder string) error {
	_, err := s.pool.Exec(ctx, `UPDATE leases SET expires = '-infinity' WHERE ns = $1 AND key = $2 AND holder = $3`,
		[]byte(ns), []byte(key), holder)
	if err != nil {
		return pgError(ctx, err, "release lease %s %s", ns, key)
	}
	return nil
}

// Finish implements Leaser.
func (s *pgStore) Finish(ctx context.Context, ns, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE ns = $1 AND key = $2`, []byte(ns), []byte(key)); err != nil {
		return pgError(ctx, err, "finish lease %s %s", ns, key)
	}
	return nil
}

// Claim implements Leaser with SELECT ... FOR UPDATE SKIP LOCKED.
func (s *pgStore) Claim(ctx context.Context, ns, holder string, ttl time.Duration, n int) ([]Lease, error) {
	if err := checkLease(ns, "claim", holder, ttl); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `WITH c AS (
			SELECT ns, key, holder FROM leases
			WHERE ns = $1 AND expires < clock_timestamp()
			ORDER BY expires LIMIT $4
			FOR UPDATE SKIP LOCKED)
		UPDATE leases l SET holder = $2, epoch = l.epoch + 1,
			expires = clock_timestamp() + $3 * interval '1 microsecond'
		FROM c WHERE l.ns = c.ns AND l.key = c.key
		RETURNING l.key, l.epoch, c.holder`, []byte(ns), holder, micros(ttl), n)
	if err != nil {
		return nil, pgError(ctx, err, "claim leases %s", ns)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var key []byte
		var l Lease
		if err := rows.Scan(&key, &l.Epoch, &l.Previous); err != nil {
			return nil, pgError(ctx, err, "claim leases %s", ns)
		}
		l.Key = string(key)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, pgError(ctx, err, "claim leases %s", ns)
	}
	return out, nil
}

// channel is the PostgreSQL channel name of channel in s's schema: stores
// in different schemas of one database do not hear each other.
func (s *pgStore) channel(channel string) string {
	h := fnv.New32a()
	h.Write([]byte(s.schema))
	name := fmt.Sprintf("%s_%08x", channel, h.Sum32())
	if len(name) > 63 { // PostgreSQL's identifier limit
		name = name[len(name)-63:]
	}
	return name
}

// maxPayload is PostgreSQL's NOTIFY payload limit (8000 bytes) less room.
const maxPayload = 7900

// Publish implements Notifier with pg_notify, in the statement that takes
// the channel's next number (the channels row stays locked until commit,
// so numbers are sent in commit order, without gaps): subscribers hear it
// once the statement has committed. The message is "<seq> <payload>".
func (s *pgStore) Publish(ctx context.Context, channel string, payload []byte) error {
	if len(payload) > maxPayload {
		return model.Errorf(model.InvalidArgument, "store: notification of %d bytes is over %d", len(payload), maxPayload)
	}
	_, err := s.pool.Exec(ctx, `WITH n AS (
			INSERT INTO channels (name, seq) VALUES ($1, 1)
			ON CONFLICT (name) DO UPDATE SET seq = channels.seq + 1
			RETURNING seq)
		SELECT pg_notify($1, n.seq::text || ' ' || $2) FROM n`, s.channel(channel), string(payload))
	if err != nil {
		return pgError(ctx, err, "notify %s", channel)
	}
	return nil
}

// Sequence implements Notifier.
func (s *pgStore) Sequence(ctx context.Context, channel string) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM channels WHERE name = $1`, s.channel(channel)).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, pgError(ctx, err, "sequence of %s", channel)
	}
	return seq, nil
}

// Subscribe implements Notifier: a connection of its own runs LISTEN
// (application_name "imagegw listener <schema>", so that it is easy to spot
// in pg_stat_activity).
func (s *pgStore) Subscribe(ctx context.Context, channel string) (Subscription, error) {
	if s.closed.Load() {
		return nil, model.Wrap(model.FailedPrecondition, ErrClosed, "")
	}
	cfg := s.cfg.Copy()
	name := "imagegw listener " + s.schema
	if len(name) > 63 {
		name = name[:63]
	}
	cfg.RuntimeParams["application_name"] = name
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, pgError(ctx, err, "listen %s", channel)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel(channel)}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, pgError(ctx, err, "listen %s", channel)
	}
	return &pgSub{conn: conn, channel: channel}, nil
}

type pgSub struct {
	conn    *pgx.Conn
	channel string
}

// Next implements Subscription.
func (p *pgSub) Next(ctx context.Context) (Message, error) {
	n, err := p.conn.WaitForNotification(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return Message{}, ctx.Err()
		}
		return Message{}, pgError(ctx, err, "listening on %s", p.channel)
	}
	seq, payload, _ := strings.Cut(n.Payload, " ")
	m := Message{Payload: []byte(payload)}
	if m.Seq, err = strconv.ParseInt(seq, 10, 64); err != nil {
		return Message{}, model.Errorf(model.Internal, "store: notification on %s without a sequence number", p.channel)
	}
	return m, nil
}

// Close implements Subscription.
func (p *pgSub) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.conn.Close(ctx)
}
