package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tidings-chat/tidings/commands"
)

var _ commands.Limiter = (*Limiter)(nil)

// LimiterConfig configures a Limiter.
type LimiterConfig struct {
	// Name is the family of buckets (e.g. "send", "signup"): limiters of
	// one name on every node share their buckets.
	Name string
	// PerSecond and Burst are each bucket's refill rate and size.
	PerSecond float64
	Burst     int
	// Lease is how many tokens a node takes from a shared bucket at a time
	// and spends locally, saving round trips (default 1: every Allow asks
	// PostgreSQL). See Limiter for what it costs in precision.
	Lease int
	// Timeout bounds each query (default 1 s).
	Timeout time.Duration
	// Fallback, when set, decides instead while PostgreSQL fails, so that
	// a database outage does not refuse every request; nil: Allow returns
	// the error.
	Fallback commands.Limiter
	// MaxKeys bounds the keys whose leased tokens a node holds (default
	// commands.DefaultMaxKeys).
	MaxKeys int
}

// SetDefaults fills zero fields.
func (c *LimiterConfig) SetDefaults() {
	if c.Lease == 0 {
		c.Lease = 1
	}
	if c.Timeout == 0 {
		c.Timeout = time.Second
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = commands.DefaultMaxKeys
	}
}

// Validate reports every problem of c.
func (c *LimiterConfig) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("limiter: Name is empty"))
	}
	if !(c.PerSecond > 0) || math.IsInf(c.PerSecond, 0) {
		errs = append(errs, fmt.Errorf("limiter %s: PerSecond %v must be positive", c.Name, c.PerSecond))
	}
	if c.Burst < 1 {
		errs = append(errs, fmt.Errorf("limiter %s: Burst %d must be at least 1", c.Name, c.Burst))
	}
	if c.Lease < 1 || c.Lease > c.Burst {
		errs = append(errs, fmt.Errorf("limiter %s: Lease %d must be 1 to Burst", c.Name, c.Lease))
	}
	return errors.Join(errs...)
}

// Limiter is a commands.Limiter whose buckets live in table rate_buckets,
// so that it holds across every node sharing the database: a bucket is
// updated in one statement, under its row lock, on PostgreSQL's clock.
//
// With Lease n > 1 a node takes up to n tokens at once and spends them
// locally. The shared bucket counts them when taken, so in any window a
// key gets at most what the bucket allows (Burst + PerSecond × window)
// plus the tokens nodes held when the window began: at most
// nodes × (n−1) more. Tokens a node holds and never spends are lost, so
// a client may also be refused up to that many early. Safe for
// concurrent use.
type Limiter struct {
	pool *pgxpool.Pool
	cfg  LimiterConfig

	mu    sync.Mutex
	held  map[string]*lease
	swept time.Time
}

type lease struct {
	tokens int
	last   time.Time
}

// Limiter returns a limiter on the buckets of cfg.Name.
func (d *DB) Limiter(cfg LimiterConfig) (*Limiter, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Limiter{pool: d.pool, cfg: cfg, held: map[string]*lease{}}, nil
}

// Allow implements commands.Limiter.
func (l *Limiter) Allow(ctx context.Context, key string) error {
	if l.spendHeld(key) {
		return nil
	}
	granted, tokens, err := l.take(ctx, key, l.cfg.Lease)
	if err != nil {
		if l.cfg.Fallback != nil {
			return l.cfg.Fallback.Allow(ctx, key)
		}
		return err
	}
	if granted == 0 {
		return commands.Limited(time.Duration((1 - tokens) / l.cfg.PerSecond * float64(time.Second)))
	}
	if granted > 1 {
		l.keep(key, granted-1)
	}
	return nil
}

// spendHeld spends one locally held token of key, if there is one.
func (l *Limiter) spendHeld(key string) bool {
	if l.cfg.Lease == 1 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.held[key]
	if h == nil || h.tokens == 0 {
		return false
	}
	h.tokens--
	h.last = time.Now()
	if h.tokens == 0 {
		delete(l.held, key)
	}
	return true
}

// keep holds n leased tokens of key. Leases idle for a minute, and any
// over MaxKeys, are dropped (their tokens are lost, never given twice).
func (l *Limiter) keep(key string, n int) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, h := range l.held {
			if now.Sub(h.last) > time.Minute {
				delete(l.held, k)
			}
		}
		l.swept = now
	}
	h := l.held[key]
	if h == nil {
		for k := range l.held {
			if len(l.held) < l.cfg.MaxKeys {
				break
			}
			delete(l.held, k)
		}
		h = &lease{}
		l.held[key] = h
	}
	h.tokens += n
	h.last = now
}

// takeSQL refills the bucket for the time since its last update (capped at
// the burst), grants up to $4 whole tokens of it, and returns the grant
// and what is left. A new bucket starts full. ON CONFLICT's SET reads the
// row as it was, so both columns are computed from the same refill.
const takeSQL = `
INSERT INTO rate_buckets AS b (name, key, tokens, granted, updated_at)
VALUES ($1, $2, $3::float8 - LEAST($4::int, floor($3::float8)::int), LEAST($4::int, floor($3::float8)::int), now())
ON CONFLICT (name, key) DO UPDATE SET
    granted = LEAST($4::int, floor(LEAST($3::float8,
        b.tokens + GREATEST(0, EXTRACT(EPOCH FROM now() - b.updated_at)::float8) * $5::float8))::int),
    tokens = LEAST($3::float8, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM now() - b.updated_at)::float8) * $5::float8)
        - LEAST($4::int, floor(LEAST($3::float8,
        b.tokens + GREATEST(0, EXTRACT(EPOCH FROM now() - b.updated_at)::float8) * $5::float8))::int),
    updated_at = now()
RETURNING granted, tokens`

// take takes up to want tokens of key's shared bucket.
func (l *Limiter) take(ctx context.Context, key string, want int) (granted int, tokens float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	err = l.pool.QueryRow(ctx, takeSQL, l.cfg.Name, key, float64(l.cfg.Burst), want, l.cfg.PerSecond).Scan(&granted, &tokens)
	if err != nil {
		return 0, 0, fmt.Errorf("take %s rate tokens: %w", l.cfg.Name, err)
	}
	return granted, tokens, nil
}

// Prune deletes the buckets of l's name that are full again (they mean
// nothing a new bucket would not) and returns how many.
func (l *Limiter) Prune(ctx context.Context) (int64, error) {
	tag, err := l.pool.Exec(ctx, `DELETE FROM rate_buckets WHERE name = $1
		AND tokens + GREATEST(0, EXTRACT(EPOCH FROM now() - updated_at)::float8) * $2::float8 >= $3::float8`,
		l.cfg.Name, l.cfg.PerSecond, float64(l.cfg.Burst))
	if err != nil {
		return 0, fmt.Errorf("prune %s rate buckets: %w", l.cfg.Name, err)
	}
	return tag.RowsAffected(), nil
}
