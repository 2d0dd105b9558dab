package commands_test

import (
	"context"
	"testing"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/commands"
)

func TestRateLimiterContract(t *testing.T) {
	contract.TestLimiter(t, func(_ *testing.T, perSecond float64, burst int) commands.Limiter {
		return commands.NewRateLimiter(perSecond, burst, nil)
	})
}

func TestRateLimiterKeysAreBounded(t *testing.T) {
	l := commands.NewRateLimiter(0.001, 1, nil)
	l.SetMaxKeys(3)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		if err := l.Allow(context.Background(), k); err != nil {
			t.Fatalf("first take of %s: %v", k, err)
		}
		if n := l.Len(); n > 3 {
			t.Fatalf("%d buckets, want at most 3", n)
		}
	}
}
