package cassandra

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gocql/gocql"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

var (
	_ projections.Store   = (*Views)(nil)
	_ projections.Resumer = (*Views)(nil)
)

// Views implements projections.Store on Cassandra; the tables are described
// in migrations/0003_user_and_month_keys.cql. Every Apply writes only rows
// it can address from the event itself, never reading first, with
// timestamps taken from the event (see tsSent), so applying an event twice,
// late, or interleaved with other partitions in any order leaves the same
// views. An ApplyBatch is not atomic: a failed one has written some rows
// and must be applied again (the pipeline does so), and readers may
// briefly see a message in one view before another. Safe for concurrent
// use.
type Views struct {
	session    *gocql.Session
	group      string // consumer group whose positions are recorded
	batchBytes int    // Config.BatchBytes
	inFlight   int    // Config.BatchesInFlight
	crossKey   bool   // batches may hold statements of several keys (Config.KeyBatches)
	retried    retried
}

// Open connects to the keyspace of cfg, which Migrate must have brought up
// to date: Open fails when it lacks a migration this binary knows. It does
// not change the schema.
func Open(ctx context.Context, cfg Config) (*Views, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s, err := newSession(cfg, cfg.Keyspace)
	if err != nil {
		return nil, err
	}
	v := &Views{session: s, group: projections.ViewsGroup, batchBytes: cfg.BatchBytes, inFlight: cfg.BatchesInFlight}
	if err := v.checkSchema(ctx, cfg.Keyspace); err != nil {
		s.Close()
		return nil, err
	}
	if err := v.loadRetried(ctx); err != nil {
		s.Close()
		return nil, err
	}
	switch cfg.KeyBatches {
	case KeyBatchesCrossKey:
		v.crossKey = true
	case KeyBatchesAuto:
		single, err := singleNode(ctx, s)
		if err != nil {
			s.Close()
			return nil, err
		}
		v.crossKey = single
	}
	return v, nil
}

// KeyBatches returns how ApplyBatch groups statements: KeyBatchesCrossKey
// or KeyBatchesPerKey (Config.KeyBatches, with auto resolved).
func (v *Views) KeyBatches() string {
	if v.crossKey {
		return KeyBatchesCrossKey
	}
	return KeyBatchesPerKey
}

// singleNode reports whether the cluster has one node: the one answering
// knows no peers.
func singleNode(ctx context.Context, s *gocql.Session) (bool, error) {
	iter := s.Query(`SELECT peer FROM system.peers`).WithContext(ctx).Iter()
	var peer string
	peers := 0
	for iter.Scan(&peer) {
		peers++
	}
	if err := iter.Close(); err != nil {
		return false, fmt.Errorf("count the cluster's nodes (system.peers): %w", err)
	}
	return peers == 0, nil
}

// checkSchema fails unless every embedded migration is recorded as applied.
func (v *Views) checkSchema(ctx context.Context, keyspace string) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	have := map[int]bool{}
	iter := v.session.Query(selectMigrations).WithContext(ctx).Iter()
	var (
		version        int
		name, checksum string
	)
	for iter.Scan(&version, &name, &checksum) {
		have[version] = true
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("read %s.schema_migrations (has Migrate run?): %w", keyspace, err)
	}
	for _, m := range ms {
		if !have[m.version] {
			return fmt.Errorf("keyspace %s lacks migration %s: run Migrate", keyspace, m.name)
		}
	}
	return nil
}

// Close closes every connection. The Views must not be used afterwards.
func (v *Views) Close() { v.session.Close() }

// Ping reports whether a node answers a query (for readiness checks).
func (v *Views) Ping(ctx context.Context) error {
	var version string
	if err := v.session.Query(`SELECT release_version FROM system.local`).WithContext(ctx).Scan(&version); err != nil {
		return fmt.Errorf("ping cassandra: %w", err)
	}
	return nil
}

const selectPosition = `SELECT partition, offset FROM applied_positions WHERE group_name = ?`

// viewTables are the tables Reset empties.
var viewTables = []string{"month_messages", "month_history", "month_unread", "user_conversations", "user_unread_months",
	"user_feed", "user_feed_first", "applied_positions", "retried_sends", "message_versions"}

// Flush implements projections.Store. Every write returned once the
// consistency level's replicas took it; its durability is that of their
// commit logs, so there is nothing more to do.
func (v *Views) Flush(context.Context) error { return nil }

// RecordPosition implements projections.Store: the highest offset wins
// (it is the write timestamp).
func (v *Views) RecordPosition(ctx context.Context, pos domain.Position) error {
	return v.recordPositions(ctx, map[int32]int64{pos.Partition: pos.Offset})
}

// AppliedPositions implements projections.Store.
func (v *Views) AppliedPositions(ctx context.Context) (map[int32]int64, error) {
	out := map[int32]int64{}
	iter := v.session.Query(selectPosition, v.group).WithContext(ctx).Iter()
	var (
		part   int32
		offset int64
	)
	for iter.Scan(&part, &offset) {
		out[part] = offset
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("read applied positions: %w", err)
	}
	return out, nil
}

// Resume implements projections.Resumer: it learns the retried sends
// every consumer of the group applied (Views.retried), as a process that
// starts to consume a partition must (projections.StartAfter).
func (v *Views) Resume(ctx context.Context) error {
	return v.loadRetried(ctx)
}

// Reset implements projections.Store with TRUNCATE, which (unlike DELETE)
// leaves no tombstones behind: replayed events, whose write timestamps are
// those of the first projection, are written again in full. TRUNCATE needs
// every node up, and snapshots the tables first when the cluster has
// auto_snapshot on (free those with nodetool clearsnapshot).
func (v *Views) Reset(ctx context.Context) error {
	errs := make([]error, len(viewTables))
	var wg sync.WaitGroup
	for i, t := range viewTables {
		wg.Go(func() {
			if err := v.session.Query("TRUNCATE TABLE " + t).WithContext(ctx).Exec(); err != nil {
				errs[i] = fmt.Errorf("truncate %s: %w", t, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reset views: %w", err)
	}
	v.retried.reset()
	return nil
}
