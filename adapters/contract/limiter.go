package contract

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// TestLimiter runs the rate-limiter contract against the limiters newLimiter
// makes: each call returns a limiter of fresh buckets allowing burst at
// once and perSecond sustained.
func TestLimiter(t *testing.T, newLimiter func(t *testing.T, perSecond float64, burst int) commands.Limiter) {
	ctx := context.Background()
	t.Run("BurstThenRefused", func(t *testing.T) {
		l := newLimiter(t, 0.01, 3) // the next token in 100 s
		for i := range 3 {
			if err := l.Allow(ctx, "alice"); err != nil {
				t.Fatalf("take %d within the burst: %v", i, err)
			}
		}
		err := l.Allow(ctx, "alice")
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeRateLimited {
			t.Fatalf("over the burst: %v, want rate_limited", err)
		}
		if de.RetryAfter < 90*time.Second || de.RetryAfter > 101*time.Second {
			t.Fatalf("RetryAfter %v, want about 100 s", de.RetryAfter)
		}
		if err := l.Allow(ctx, "bob"); err != nil {
			t.Fatalf("another key is limited too: %v", err)
		}
	})
	t.Run("Refills", func(t *testing.T) {
		l := newLimiter(t, 50, 1) // a token every 20 ms
		if err := l.Allow(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for l.Allow(ctx, "carol") != nil {
			if time.Now().After(deadline) {
				t.Fatal("the bucket never refilled")
			}
			time.Sleep(5 * time.Millisecond) // polling for the refill, the condition itself
		}
	})
}
