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

// TestStaleCatalogRecordsNoPositionPastTheFence: a process that missed a
// shard's fence (it still caches the old catalog: its lease ran out while
// it was paused, say) must not record the events it applies as applied,
// or the shard's new placement would never get them; once its cache has
// caught up, it records again.
func TestStaleCatalogRecordsNoPositionPastTheFence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, other := openDB(t), openDB(t)
	ec := db.Catalog()
	if err := ec.EnsureShards(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	stores := map[string]projections.Store{"default": db.Views(), "other": other.Views()}
	open := func(_ context.Context, p string) (projections.Store, error) { return stores[p], nil }
	stale, err := projections.NewCatalog(ctx, ec, "stale", nil) // never reloads
	if err != nil {
		t.Fatal(err)
	}
	router := projections.NewRouter(stale, open, db.Views())

	at := time.Now().UTC().Truncate(time.Millisecond)
	alice, bob := domain.UserID(domain.NewID(at)), domain.UserID(domain.NewID(at.Add(time.Second)))
	change := func(off int64) []projections.Change {
		m := domain.MessageSent{ID: domain.MessageID(domain.NewID(at.Add(time.Duration(off) * time.Minute))), From: alice, To: bob, Text: "hi", SentAt: at}
		return []projections.Change{{Event: m, User: bob, Pos: domain.Position{Offset: off}}}
	}
	if _, err := router.ApplyBatch(ctx, change(0), map[int32]int64{0: 0}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ec.UpdateShard(ctx, domain.ShardOf(bob), func(s *projections.ShardInfo) error {
		s.State, s.Target = projections.ShardFenced, "other"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, err = router.ApplyBatch(ctx, change(1), map[int32]int64{0: 1})
	if !errors.Is(err, projections.ErrStaleCatalog) {
		t.Fatalf("ApplyBatch with a catalog older than the fence: %v, want ErrStaleCatalog", err)
	}
	if err := router.RecordPosition(ctx, domain.Position{Offset: 1}); !errors.Is(err, projections.ErrStaleCatalog) {
		t.Fatalf("RecordPosition with a catalog older than the fence: %v, want ErrStaleCatalog", err)
	}
	if got, _ := router.AppliedPositions(ctx); got[0] != 0 {
		t.Fatalf("applied positions %v: the stale process recorded past the fence", got)
	}

	// A process whose cache holds the fence records (the fenced shard's
	// writers wait for the flip; a user of another shard writes at once).
	fresh, err := projections.NewCatalog(ctx, ec, "fresh", nil)
	if err != nil {
		t.Fatal(err)
	}
	carol := domain.UserID(domain.NewID(at.Add(2 * time.Second)))
	for domain.ShardOf(carol) == domain.ShardOf(bob) {
		carol = domain.UserID(domain.NewID(time.Now()))
	}
	m := domain.MessageSent{ID: domain.MessageID(domain.NewID(at.Add(time.Hour))), From: alice, To: carol, Text: "hi", SentAt: at}
	live := projections.NewRouter(fresh, open, db.Views())
	if _, err := live.ApplyBatch(ctx, []projections.Change{{Event: m, User: carol, Pos: domain.Position{Offset: 2}}}, map[int32]int64{0: 2}); err != nil {
		t.Fatalf("ApplyBatch with a current catalog: %v", err)
	}

	// A live process that has not reloaded yet when a fence is raised
	// waits for its cache rather than failing the batch (a failed batch
	// appends its receipts again).
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); fresh.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-ran })
	third := (domain.ShardOf(carol) + 1) % domain.VirtualShards
	if third == domain.ShardOf(bob) {
		third = (third + 1) % domain.VirtualShards
	}
	if _, _, err := ec.UpdateShard(ctx, third, func(s *projections.ShardInfo) error {
		s.State, s.Target = projections.ShardFenced, "other"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r := read(m, at.Add(2*time.Hour))
	if _, err := live.ApplyBatch(ctx, []projections.Change{{Event: r, User: carol, Pos: domain.Position{Offset: 3}}}, map[int32]int64{0: 3}); err != nil {
		t.Fatalf("ApplyBatch of a live process right after a fence: %v", err)
	}
	if got, _ := live.AppliedPositions(ctx); got[0] != 3 {
		t.Fatalf("applied positions %v after the live process's batch", got)
	}
}

func read(m domain.MessageSent, at time.Time) domain.MessageRead {
	return domain.MessageRead{ID: m.ID, From: m.From, To: m.To, SentAt: m.SentAt, ReadAt: at}
}
