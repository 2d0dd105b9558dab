package commands

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tidings-chat/tidings/domain"
)

// RateLimiter limits how fast each user may send: a token bucket per user
// with Burst tokens refilled at PerSecond. It is safe for concurrent use
// and in-process only: with several processes each enforces its own
// budget. Idle buckets are forgotten after a while, so memory stays bounded
// by the number of recently active senders.
type RateLimiter struct {
	perSecond rate.Limit
	burst     int
	now       func() time.Time

	mu      sync.Mutex
	buckets map[domain.UserID]*rate.Limiter
	swept   time.Time
}

// NewRateLimiter returns a limiter allowing burst sends at once and
// perSecond sustained. now may be nil (time.Now).
func NewRateLimiter(perSecond float64, burst int, now func() time.Time) *RateLimiter {
	if now == nil {
		now = time.Now
	}
	return &RateLimiter{perSecond: rate.Limit(perSecond), burst: burst, now: now, buckets: map[domain.UserID]*rate.Limiter{}}
}

// Allow takes one token from user's bucket, or returns a CodeRateLimited
// error saying when to retry.
func (l *RateLimiter) Allow(user domain.UserID) error {
	now := l.now()
	l.mu.Lock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b, ok := l.buckets[user]
	if !ok {
		b = rate.NewLimiter(l.perSecond, l.burst)
		l.buckets[user] = b
	}
	r := b.ReserveN(now, 1)
	delay := r.DelayFrom(now)
	if delay > 0 {
		r.CancelAt(now)
	}
	l.mu.Unlock()
	if delay <= 0 {
		return nil
	}
	return &domain.Error{
		Code:       domain.CodeRateLimited,
		Message:    "too many messages; slow down",
		RetryAfter: time.Duration(math.Ceil(delay.Seconds())) * time.Second,
	}
}

// sweep forgets buckets that are full again; l.mu must be held.
func (l *RateLimiter) sweep(now time.Time) {
	for u, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, u)
		}
	}
	l.swept = now
}
