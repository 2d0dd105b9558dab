package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Relay carries ephemeral signals (typing, presence) between the nodes
// sharing the database with LISTEN/NOTIFY (it implements ws.Relay). Nothing
// is stored: PostgreSQL hands a notification to the sessions listening
// when it commits, and a node that is not listening then never gets it.
// The channel is named after the schema (current_schema()), so
// deployments in separate schemas of one database do not hear each other.
//
// Limits. A payload is at most 7999 bytes (ws signals are a few hundred).
// Every NOTIFY is a tiny transaction that takes PostgreSQL's global
// notification-queue lock at commit, and every listening node receives
// every signal: the cost grows with signals a second times nodes. The
// WebSocket rate limits bound it: at most 1 typing frame a second per
// connection sustained (5 at once) and a presence signal per user's first
// connect and last disconnect per node, so 10,000 users typing at once on
// 3 nodes are ~10,000 NOTIFY/s in and ~30,000 deliveries/s out, about
// what one PostgreSQL server takes; beyond that, use a broker made for
// fan-out. A listener that falls behind makes PostgreSQL queue the
// notifications (up to 8 GB by default, then NOTIFY fails): deliver must
// be quick, and is (it only queues frames). Safe for concurrent use.
type Relay struct {
	pool    *pgxpool.Pool
	log     *slog.Logger
	channel string
}

// Relay returns the LISTEN/NOTIFY relay of d's schema.
func (d *DB) Relay(ctx context.Context, log *slog.Logger) (*Relay, error) {
	var schema string
	if err := d.pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("relay: read schema: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	ch := "tidings_ephemeral_" + schema
	if len(ch) > 63 { // NAMEDATALEN - 1: longer names are truncated by the server
		ch = ch[:63]
	}
	return &Relay{pool: d.pool, log: log, channel: ch}, nil
}

// MaxPayload is the largest payload NOTIFY takes.
const MaxPayload = 7999

// Publish sends payload to every listener of the channel, this process's
// included.
func (r *Relay) Publish(ctx context.Context, payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("relay: payload of %d bytes is over %d", len(payload), MaxPayload)
	}
	if _, err := r.pool.Exec(ctx, "SELECT pg_notify($1, $2)", r.channel, string(payload)); err != nil {
		return fmt.Errorf("relay: notify: %w", err)
	}
	return nil
}

// Subscribe listens on a connection of its own (outside the pool) and
// calls deliver with each payload until stop is called. It returns once
// LISTEN is in effect. When the connection fails it reconnects, waiting
// up to 5 s between attempts; payloads published meanwhile are lost.
func (r *Relay) Subscribe(ctx context.Context, deliver func([]byte)) (func(), error) {
	conn, err := r.listen(ctx)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.loop(lctx, conn, deliver)
	}()
	return func() { cancel(); wg.Wait() }, nil
}

// listen opens a connection and listens on the channel.
func (r *Relay) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, r.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("relay: connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{r.channel}.Sanitize()); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("relay: listen: %w", err)
	}
	return conn, nil
}

func (r *Relay) loop(ctx context.Context, conn *pgx.Conn, deliver func([]byte)) {
	backoff := 100 * time.Millisecond
	for {
		for conn != nil {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				_ = conn.Close(context.Background())
				conn = nil
				if ctx.Err() != nil {
					return
				}
				r.log.Warn("relay: listening connection failed; reconnecting", "err", err)
				break
			}
			backoff = 100 * time.Millisecond
			deliver([]byte(n.Payload))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
		c, err := r.listen(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			r.log.Warn("relay: reconnect", "err", err)
		}
		conn = c
	}
}
