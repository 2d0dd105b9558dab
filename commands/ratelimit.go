package commands

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tidings-chat/tidings/domain"
)

// Limiter is a set of token buckets, one per key (a sender's id, a client
// address), all with the same burst and refill rate.
type Limiter interface {
	// Allow takes one token from key's bucket. It returns nil when it did,
	// a *domain.Error with CodeRateLimited and RetryAfter when the bucket is
	// empty, or another error when the limiter could not decide. Safe for
	// concurrent use.
	Allow(ctx context.Context, key string) error
}

var _ Limiter = (*RateLimiter)(nil)

// DefaultMaxKeys bounds the buckets a RateLimiter keeps.
const DefaultMaxKeys = 100_000

// RateLimiter is the in-process Limiter: a token bucket per key with Burst
// tokens refilled at PerSecond. It is safe for concurrent use and holds
// per process only: with several processes each enforces its own budget
// (adapters/postgres has one that holds across processes). Memory is
// bounded: buckets that are full again are forgotten, and at MaxKeys
// buckets an arbitrary one is dropped for a new key (its key starts over
// with a full bucket, which errs toward letting a client through).
type RateLimiter struct {
	perSecond rate.Limit
	burst     int
	maxKeys   int
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// NewRateLimiter returns a limiter allowing burst actions at once and
// perSecond sustained, per key. now may be nil (time.Now).
func NewRateLimiter(perSecond float64, burst int, now func() time.Time) *RateLimiter {
	if now == nil {
		now = time.Now
	}
	return &RateLimiter{perSecond: rate.Limit(perSecond), burst: burst, maxKeys: DefaultMaxKeys, now: now, buckets: map[string]*rate.Limiter{}}
}

// SetMaxKeys changes how many buckets l keeps at most (at least 1).
func (l *RateLimiter) SetMaxKeys(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxKeys = max(1, n)
}

// Allow implements Limiter; it never fails but with CodeRateLimited.
func (l *RateLimiter) Allow(_ context.Context, key string) error {
	now := l.now()
	l.mu.Lock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.sweep(now)
			for k := range l.buckets {
				if len(l.buckets) < l.maxKeys {
					break
				}
				delete(l.buckets, k)
			}
		}
		b = rate.NewLimiter(l.perSecond, l.burst)
		l.buckets[key] = b
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
	return Limited(delay)
}

// Len returns how many buckets l holds.
func (l *RateLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// Limited returns the CodeRateLimited error of a limiter whose next token
// comes after delay (rounded up to whole seconds, at least one).
func Limited(delay time.Duration) error {
	return &domain.Error{
		Code:       domain.CodeRateLimited,
		Message:    "too many requests; slow down",
		RetryAfter: max(time.Second, time.Duration(math.Ceil(delay.Seconds()))*time.Second),
	}
}

// sweep forgets buckets that are full again; l.mu must be held.
func (l *RateLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}
