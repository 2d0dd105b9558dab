package postgres_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/tidings-chat/tidings/adapters/postgres"
)

var placement = postgres.Placement{ID: "p0", CassandraKeyspace: "tidings_p0", KafkaTopic: "tidings.events.p0", KafkaPartitions: 16}

func TestEnsureCatalogIsIdempotent(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := t.Context()
	const n = 8
	for i := range 2 {
		if err := db.EnsureCatalog(ctx, n, placement); err != nil {
			t.Fatalf("EnsureCatalog #%d: %v", i+1, err)
		}
	}
	shards, err := db.Shards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != n {
		t.Fatalf("%d shards, want %d", len(shards), n)
	}
	for i, s := range shards {
		if s.ID != int32(i) || s.PlacementID != placement.ID || s.State != postgres.ShardActive || s.Epoch != 1 || s.UpdatedAt.IsZero() {
			t.Fatalf("shard %d: %+v; want id %d on %s, active, epoch 1", i, s, i, placement.ID)
		}
	}
	ps, err := db.Placements(ctx)
	if err != nil || len(ps) != 1 || ps[0] != placement {
		t.Fatalf("Placements: %+v, %v; want [%+v]", ps, err, placement)
	}

	// Another placement is added; the shards stay where they are.
	other := postgres.Placement{ID: "p1", CassandraKeyspace: "tidings_p1", KafkaTopic: "tidings.events.p1", KafkaPartitions: 16}
	if err := db.EnsureCatalog(ctx, n, other); err != nil {
		t.Fatal(err)
	}
	if ps, err := db.Placements(ctx); err != nil || len(ps) != 2 || ps[1] != other {
		t.Fatalf("Placements: %+v, %v; want p0 and p1", ps, err)
	}
	if shards, err := db.Shards(ctx); err != nil || shards[0].PlacementID != placement.ID {
		t.Fatalf("shard 0 after a second placement: %+v, %v", shards[0], err)
	}
}

func TestEnsureCatalogConflicts(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := t.Context()
	if err := db.EnsureCatalog(ctx, 8, placement); err != nil {
		t.Fatal(err)
	}
	changed := placement
	changed.KafkaPartitions = 32
	tests := []struct {
		name   string
		shards int
		p      postgres.Placement
	}{
		{"OtherShardCount", 16, placement},
		{"FewerShards", 4, placement},
		{"PlacementChanged", 8, changed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.EnsureCatalog(ctx, tt.shards, tt.p); !errors.Is(err, postgres.ErrCatalogConflict) {
				t.Fatalf("EnsureCatalog(%d, %+v): %v; want ErrCatalogConflict", tt.shards, tt.p, err)
			}
		})
	}
	if ps, err := db.Placements(ctx); err != nil || len(ps) != 1 || ps[0] != placement {
		t.Fatalf("Placements after conflicts: %+v, %v; want it unchanged", ps, err)
	}
}

func TestEnsureCatalogConcurrently(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.EnsureCatalog(t.Context(), n, placement)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent EnsureCatalog: %v", err)
		}
	}
	if shards, err := db.Shards(t.Context()); err != nil || len(shards) != n {
		t.Fatalf("Shards: %d, %v; want %d", len(shards), err, n)
	}
}

func TestEnsureCatalogRejectsBadInput(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	bad := placement
	bad.CassandraKeyspace = "Has-Dash"
	tests := []struct {
		name   string
		shards int
		p      postgres.Placement
	}{
		{"NoShards", 0, placement},
		{"TooManyShards", postgres.MaxVirtualShards + 1, placement},
		{"BadPlacement", 8, bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.EnsureCatalog(t.Context(), tt.shards, tt.p); err == nil {
				t.Fatal("EnsureCatalog succeeded; want an error")
			}
		})
	}
	if shards, err := db.Shards(t.Context()); err != nil || len(shards) != 0 {
		t.Fatalf("Shards after rejected calls: %d, %v; want none", len(shards), err)
	}
}

func TestPlacementValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*postgres.Placement)
		ok     bool
	}{
		{"Valid", func(*postgres.Placement) {}, true},
		{"EmptyID", func(p *postgres.Placement) { p.ID = "" }, false},
		{"UpperCaseID", func(p *postgres.Placement) { p.ID = "P0" }, false},
		{"KeyspaceStartsWithDigit", func(p *postgres.Placement) { p.CassandraKeyspace = "0ks" }, false},
		{"KeyspaceTooLong", func(p *postgres.Placement) { p.CassandraKeyspace = "k" + string(make([]byte, 48)) }, false},
		{"TopicDot", func(p *postgres.Placement) { p.KafkaTopic = "." }, false},
		{"TopicSlash", func(p *postgres.Placement) { p.KafkaTopic = "a/b" }, false},
		{"NoPartitions", func(p *postgres.Placement) { p.KafkaPartitions = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := placement
			tt.mutate(&p)
			if err := p.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate(%+v) = %v; want ok=%v", p, err, tt.ok)
			}
		})
	}
}
