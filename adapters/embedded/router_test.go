package embedded_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// splitCatalog puts even shards on placement "even" and odd ones on "odd".
func splitCatalog(t *testing.T, db *embedded.DB) *embedded.Catalog {
	t.Helper()
	c := db.Catalog()
	ctx := context.Background()
	if err := c.EnsureShards(ctx, "even"); err != nil {
		t.Fatal(err)
	}
	for id := 1; id < domain.VirtualShards; id += 2 {
		if _, _, err := c.UpdateShard(ctx, id, func(s *projections.ShardInfo) error { s.Placement = "odd"; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestRouterContract runs the view contract through a Router whose users
// are spread over two placements (two Pebble stores), so every message
// between users of different shards has its parties in different stores.
func TestRouterContract(t *testing.T) {
	t.Parallel()
	contract.TestViews(t, func(t *testing.T) projections.Store {
		main, odd := openDB(t), openDB(t)
		cat, err := projections.NewCatalog(context.Background(), splitCatalog(t, main), "test", nil)
		if err != nil {
			t.Fatal(err)
		}
		stores := map[string]projections.Store{"even": main.Views(), "odd": odd.Views()}
		return projections.NewRouter(cat, func(_ context.Context, p string) (projections.Store, error) { return stores[p], nil }, main.Views())
	})
}

// ackSpy is a catalog source that tells when a version at least target
// was loaded, and records whether such a version was acknowledged while
// the test held a write.
type ackSpy struct {
	projections.CatalogSource
	target  atomic.Int64
	holding atomic.Bool
	loaded  chan struct{} // closed once Load returned a version >= target
	once    sync.Once
	early   atomic.Int64 // a version >= target acknowledged while holding
}

func (s *ackSpy) Load(ctx context.Context) (int64, []projections.ShardInfo, error) {
	v, shards, err := s.CatalogSource.Load(ctx)
	if t := s.target.Load(); err == nil && t > 0 && v >= t {
		s.once.Do(func() { close(s.loaded) })
	}
	return v, shards, err
}

func (s *ackSpy) Ack(ctx context.Context, node string, version int64, lease time.Duration) error {
	if t := s.target.Load(); t > 0 && version >= t && s.holding.Load() {
		s.early.Store(version)
	}
	return s.CatalogSource.Ack(ctx, node, version, lease)
}

func TestFencedShardHoldsWritesUntilFlip(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ec := db.Catalog()
	ctx := context.Background()
	if err := ec.EnsureShards(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	spy := &ackSpy{CatalogSource: ec, loaded: make(chan struct{})}
	cat, err := projections.NewCatalog(ctx, spy, "n1", nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); cat.Run(runCtx) }()
	// Registered after openDB's cleanup, so it runs first: the catalog's
	// loop ends before the store closes.
	t.Cleanup(func() { stop(); <-ran })

	user := domain.UserID(domain.NewID(time.Now()))
	shard := domain.ShardOf(user)
	p, release, err := cat.AcquireWrite(ctx, user)
	if err != nil || p != "default" {
		t.Fatalf("AcquireWrite: %q, %v", p, err)
	}
	spy.holding.Store(true)
	// A change of the shard is not acknowledged while that write is in flight.
	_, version, err := ec.UpdateShard(ctx, shard, func(s *projections.ShardInfo) error {
		s.State, s.Target = projections.ShardFenced, "other"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	spy.target.Store(version)
	select { // the catalog has read the change: its acknowledgement is next
	case <-spy.loaded:
	case <-time.After(10 * time.Second):
		t.Fatal("the catalog never loaded the changed version")
	}
	if behind, _ := ec.NodesBehind(ctx, version); len(behind) != 1 || cat.Version() >= version {
		t.Fatalf("the fence was acknowledged (behind %v, cached version %d) with a write in flight", behind, cat.Version())
	}
	spy.holding.Store(false)
	release()
	if v := spy.early.Load(); v != 0 {
		t.Fatalf("version %d was acknowledged while a write was in flight", v)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if behind, _ := ec.NodesBehind(ctx, version); len(behind) == 0 && cat.Version() >= version {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the fence was never acknowledged after the write finished")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Fenced: a writer waits (here until its context ends) rather than write.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if p, release, err := cat.AcquireWrite(cancelled, user); !errors.Is(err, context.Canceled) {
		if err == nil {
			release()
		}
		t.Fatalf("a write went through a fenced shard: %q, %v; want it to wait until its context ended", p, err)
	}
	// Writers waiting at the fence write to the new placement after the flip.
	got := make(chan string, 1)
	go func() {
		p, release, err := cat.AcquireWrite(ctx, user)
		if err != nil {
			t.Error(err)
			p = ""
		} else {
			release()
		}
		got <- p
	}()
	if _, _, err := ec.UpdateShard(ctx, shard, func(s *projections.ShardInfo) error {
		s.State, s.Placement, s.Target = projections.ShardActive, "other", ""
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if p := <-got; p != "other" {
		t.Fatalf("after the flip the write went to %q, want other", p)
	}
}
