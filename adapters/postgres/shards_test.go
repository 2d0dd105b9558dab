package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/postgres"
	"github.com/tidings-chat/tidings/projections"
)

func TestShardCatalog(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	sc := db.ShardCatalog(postgres.Placement{CassandraKeyspace: "tidings", KafkaTopic: "t", KafkaPartitions: 4})
	for range 2 {
		if err := sc.EnsureShards(ctx, 16); err != nil {
			t.Fatalf("EnsureShards: %v", err)
		}
	}
	v1, shards, err := sc.Load(ctx)
	if err != nil || len(shards) != 16 || shards[3] != (projections.ShardInfo{ID: 3, Placement: "default", State: projections.ShardActive, Epoch: 1}) {
		t.Fatalf("Load: v%d %+v %v", v1, shards, err)
	}

	// A process acknowledges; a change leaves it behind until it acks again.
	if err := sc.Ack(ctx, "n1", v1, time.Minute); err != nil {
		t.Fatal(err)
	}
	// A move to a placement nobody created is refused and changes nothing.
	mover := &projections.Mover{Admin: sc, Log: slog.New(slog.DiscardHandler)}
	if err := mover.Move(ctx, 3, "p2"); !errors.Is(err, projections.ErrNoPlacement) {
		t.Fatalf("move to a placement that does not exist: %v, want ErrNoPlacement", err)
	}
	if v, shards, _ := sc.Load(ctx); v != v1 || shards[3].State != projections.ShardActive {
		t.Fatalf("after the refused move: v%d %+v, want v%d active", v, shards[3], v1)
	}
	if err := sc.AddPlacement(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	if got, err := sc.Placements(ctx); err != nil || !reflect.DeepEqual(got, []string{"default", "p2"}) {
		t.Fatalf("Placements: %v %v, want [default p2]", got, err)
	}
	got, v2, err := sc.UpdateShard(ctx, 3, func(s *projections.ShardInfo) error {
		s.State, s.Target = projections.ShardMoving, "p2"
		return nil
	})
	if err != nil || v2 != v1+1 || got.Epoch != 2 || got.Target != "p2" {
		t.Fatalf("UpdateShard: %+v v%d %v", got, v2, err)
	}
	if behind, err := sc.NodesBehind(ctx, v2); err != nil || !reflect.DeepEqual(behind, []string{"n1"}) {
		t.Fatalf("NodesBehind: %v %v", behind, err)
	}
	if err := sc.Ack(ctx, "n1", v2, time.Minute); err != nil {
		t.Fatal(err)
	}
	if behind, _ := sc.NodesBehind(ctx, v2); len(behind) != 0 {
		t.Fatalf("NodesBehind after the ack: %v", behind)
	}
	// A lease that ran out does not hold a move back.
	if err := sc.Ack(ctx, "dead", v1, 0); err != nil {
		t.Fatal(err)
	}
	if behind, _ := sc.NodesBehind(ctx, v2); len(behind) != 0 {
		t.Fatalf("a node without a lease is waited for: %v", behind)
	}
	// A failing edit changes nothing.
	if _, _, err := sc.UpdateShard(ctx, 3, func(*projections.ShardInfo) error { return errors.New("no") }); err == nil {
		t.Fatal("UpdateShard ignored the edit's error")
	}
	if v, _, _ := sc.Load(ctx); v != v2 {
		t.Fatalf("version %d after a failed edit, want %d", v, v2)
	}
	// Checkpoints round-trip and can be deleted.
	cp := map[int32]int64{0: 10, 3: 7}
	if err := sc.SaveCheckpoint(ctx, 3, cp); err != nil {
		t.Fatal(err)
	}
	if got, err := sc.Checkpoint(ctx, 3); err != nil || !reflect.DeepEqual(got, cp) {
		t.Fatalf("Checkpoint: %v %v", got, err)
	}
	if err := sc.SaveCheckpoint(ctx, 3, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := sc.Checkpoint(ctx, 3); err != nil || len(got) != 0 {
		t.Fatalf("Checkpoint after delete: %v %v", got, err)
	}
}

func TestShardCatalogNotifies(t *testing.T) {
	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := db.ShardCatalog(postgres.Placement{CassandraKeyspace: "tidings", KafkaTopic: "t", KafkaPartitions: 4})
	if err := sc.EnsureShards(ctx, 4); err != nil {
		t.Fatal(err)
	}
	go sc.Listen(ctx, nil)
	select { // LISTEN is in place
	case <-sc.Changed():
	case <-time.After(5 * time.Second):
		t.Fatal("no signal that LISTEN is in place")
	}
	if _, _, err := sc.UpdateShard(ctx, 1, func(s *projections.ShardInfo) error { return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sc.Changed():
	case <-time.After(5 * time.Second):
		t.Fatal("no notification of the change")
	}
}
