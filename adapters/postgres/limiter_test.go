package postgres_test

import (
	"context"
	"testing"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/adapters/postgres"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

func TestLimiterContract(t *testing.T) {
	t.Parallel()
	serverURL(t)
	contract.TestLimiter(t, func(t *testing.T, perSecond float64, burst int) commands.Limiter {
		l, err := openDB(t).Limiter(postgres.LimiterConfig{Name: "test", PerSecond: perSecond, Burst: burst})
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

// TestLimiterHoldsAcrossNodes: two nodes (two pools, two limiters) on one
// database share each key's budget, with and without leases. Two
// in-process limiters would allow twice the burst.
func TestLimiterHoldsAcrossNodes(t *testing.T) {
	t.Parallel()
	for _, lease := range []int{1, 3} {
		connURL := freshSchema(t)
		first := openAt(t, connURL)
		if err := first.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		second := openAt(t, connURL)
		cfg := postgres.LimiterConfig{Name: "send", PerSecond: 0.001, Burst: 10, Lease: lease}
		var nodes []commands.Limiter
		for _, db := range []*postgres.DB{first, second} {
			l, err := db.Limiter(cfg)
			if err != nil {
				t.Fatal(err)
			}
			nodes = append(nodes, l)
		}
		allowed := 0
		for i := range 40 {
			err := nodes[i%2].Allow(context.Background(), "alice")
			switch {
			case err == nil:
				allowed++
			case domain.CodeOf(err) != domain.CodeRateLimited:
				t.Fatalf("lease %d: Allow: %v", lease, err)
			}
		}
		if allowed != cfg.Burst {
			t.Fatalf("lease %d: two nodes allowed %d, want the shared burst %d", lease, allowed, cfg.Burst)
		}
	}
}

func TestLimiterFallsBackWhenTheDatabaseFails(t *testing.T) {
	t.Parallel()
	db := openAt(t, freshSchema(t)) // not migrated: no rate_buckets table
	l, err := db.Limiter(postgres.LimiterConfig{Name: "send", PerSecond: 1, Burst: 1, Fallback: commands.NewRateLimiter(1, 1, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Allow(context.Background(), "alice"); err != nil {
		t.Fatalf("with a fallback: %v", err)
	}
	if err := l.Allow(context.Background(), "alice"); domain.CodeOf(err) != domain.CodeRateLimited {
		t.Fatalf("the fallback's limit: %v", err)
	}
	strict, _ := db.Limiter(postgres.LimiterConfig{Name: "send", PerSecond: 1, Burst: 1})
	if err := strict.Allow(context.Background(), "alice"); err == nil || domain.CodeOf(err) == domain.CodeRateLimited {
		t.Fatalf("without a fallback: %v, want the database's error", err)
	}
}
