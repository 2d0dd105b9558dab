package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/adapters/postgres"
	"github.com/tidings-chat/tidings/commands"
)

// rateLimits are the process's rate limiters: per sender, and per client
// address for sign-up and sign-in. With PostgreSQL they live there and hold
// across every node sharing it (falling back to this process's own buckets
// while it fails); embedded, they are this process's.
type rateLimits struct {
	send   commands.Limiter // nil: no limit
	http   httpapi.Limits
	shared []*postgres.Limiter // to prune
}

// sendLease is how many send tokens a node takes from a shared bucket at a
// time: a twentieth of the burst (5 of the default 100), so a steady
// sender costs PostgreSQL one query per 5 sends, and a user can exceed the
// burst by at most 4 sends per node (postgres.Limiter).
func sendLease(burst int) int { return max(1, burst/20) }

func newRateLimits(c *config, pg *postgres.DB) (rateLimits, error) {
	var rl rateLimits
	build := func(name string, perSecond float64, burst, lease int) (commands.Limiter, error) {
		if perSecond <= 0 {
			return nil, nil
		}
		local := commands.NewRateLimiter(perSecond, burst, nil)
		if pg == nil {
			return local, nil
		}
		l, err := pg.Limiter(postgres.LimiterConfig{Name: name, PerSecond: perSecond, Burst: burst, Lease: lease, Fallback: local})
		if err != nil {
			return nil, err
		}
		rl.shared = append(rl.shared, l)
		return l, nil
	}
	var err error
	if rl.send, err = build("send", c.SendPerSecond, c.SendBurst, sendLease(c.SendBurst)); err != nil {
		return rl, err
	}
	if rl.http.SignUp, err = build("signup", c.SignUpPerMinute/60, c.SignUpBurst, 1); err != nil {
		return rl, err
	}
	if rl.http.SignIn, err = build("signin", c.SignInPerMinute/60, c.SignInBurst, 1); err != nil {
		return rl, err
	}
	return rl, nil
}

// sessionPruner is an accounts store that can drop expired sessions
// (both stores can).
type sessionPruner interface {
	PruneSessions(ctx context.Context, cutoff time.Time) (int64, error)
}

// pruneSessions deletes expired sessions, hourly, until ctx ends.
func pruneSessions(ctx context.Context, p sessionPruner, log *slog.Logger) {
	hourly(ctx, func() {
		n, err := p.PruneSessions(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			log.Warn("prune sessions", "err", err)
		} else if n > 0 {
			log.Info("pruned expired sessions", "sessions", n)
		}
	})
}

// pruneBuckets deletes full rate buckets from PostgreSQL, hourly, until
// ctx ends.
func pruneBuckets(ctx context.Context, limiters []*postgres.Limiter, log *slog.Logger) {
	hourly(ctx, func() {
		for _, l := range limiters {
			if _, err := l.Prune(ctx); err != nil && ctx.Err() == nil {
				log.Warn("prune rate buckets", "err", err)
			}
		}
	})
}

// hourly runs fn now and every hour until ctx ends.
func hourly(ctx context.Context, fn func()) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
