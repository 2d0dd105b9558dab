package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrCatalogConflict is returned by EnsureCatalog when the catalog already
// exists and disagrees with what was asked: another virtual shard count, or
// a placement of the same id with other attributes. The catalog is left
// unchanged.
var ErrCatalogConflict = errors.New("catalog conflict")

// MaxVirtualShards is the largest virtual shard count EnsureCatalog accepts.
const MaxVirtualShards = 1 << 16

// ShardState is where a virtual shard is in its life. Table shards accepts
// only the states below; adding one takes a migration.
type ShardState string

// The shard states.
const (
	// ShardActive: the shard is served from its placement.
	ShardActive ShardState = "active"
	// ShardMoving: a move of the shard to another placement is under way.
	ShardMoving ShardState = "moving"
)

// Placement is where the data of virtual shards lives: a Cassandra keyspace
// holding their views and a Kafka topic holding their events. Within the
// topic an event's partition comes from its key, as the Kafka adapter
// assigns it, so KafkaPartitions is the topic's partition count, not a
// partition of its own.
type Placement struct {
	// ID names the placement: 1 to 64 of a-z, 0-9, '_' and '-'.
	ID string
	// CassandraKeyspace is an unquoted keyspace name: a lower-case letter,
	// then up to 47 of a-z, 0-9 and '_'.
	CassandraKeyspace string
	// KafkaTopic is a topic name: 1 to 249 of a-z, A-Z, 0-9, '.', '_' and '-'.
	KafkaTopic string
	// KafkaPartitions is the topic's partition count, at least 1.
	KafkaPartitions int32
}

// Shard is one virtual shard. Users map to a fixed number of virtual shards
// (the caller hashes the user id; this package only keeps the map), and
// each shard lives on one placement at a time.
type Shard struct {
	// ID is the shard's number, from 0 to the shard count - 1.
	ID int32
	// PlacementID is the placement holding the shard's data.
	PlacementID string
	State       ShardState
	// Epoch starts at 1 and grows by one with every change of the shard's
	// placement or state, so a writer holding a stale route can be fenced.
	Epoch     int64
	UpdatedAt time.Time
}

var (
	placementIDPattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
	keyspacePattern    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)
	topicPattern       = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
)

// Validate reports every problem of p at once (errors.Join).
func (p Placement) Validate() error {
	var errs []error
	if !placementIDPattern.MatchString(p.ID) {
		errs = append(errs, fmt.Errorf("placement id %q: want 1 to 64 of a-z, 0-9, '_' and '-'", p.ID))
	}
	if !keyspacePattern.MatchString(p.CassandraKeyspace) {
		errs = append(errs, fmt.Errorf("placement %s: cassandra keyspace %q: want a lower-case letter, then up to 47 of a-z, 0-9 and '_'", p.ID, p.CassandraKeyspace))
	}
	if !topicPattern.MatchString(p.KafkaTopic) || p.KafkaTopic == "." || p.KafkaTopic == ".." {
		errs = append(errs, fmt.Errorf("placement %s: kafka topic %q: want 1 to 249 of a-z, A-Z, 0-9, '.', '_' and '-'", p.ID, p.KafkaTopic))
	}
	if p.KafkaPartitions < 1 {
		errs = append(errs, fmt.Errorf("placement %s: kafka partitions is %d; it must be at least 1", p.ID, p.KafkaPartitions))
	}
	return errors.Join(errs...)
}

// EnsureCatalog makes sure placement p exists and that the catalog has
// virtualShards shards, numbered from 0; when it has none, it creates them
// all on p, active, at epoch 1. It is idempotent: when both are already
// there it changes nothing, and shards that have moved to other placements
// stay where they are. It fails with ErrCatalogConflict when the shard count
// differs (it is fixed for the life of a cluster: changing it would remap
// users) or when a placement with p's id has other attributes. Concurrent
// calls take turns on a table lock, which readers do not wait for.
func (d *DB) EnsureCatalog(ctx context.Context, virtualShards int, p Placement) error {
	if virtualShards < 1 || virtualShards > MaxVirtualShards {
		return fmt.Errorf("ensure catalog: %d virtual shards; want 1 to %d", virtualShards, MaxVirtualShards)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("ensure catalog: %w", err)
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE placements, shards IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("lock catalog: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO placements (id, cassandra_keyspace, kafka_topic, kafka_partitions)
			VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
			p.ID, p.CassandraKeyspace, p.KafkaTopic, p.KafkaPartitions); err != nil {
			return fmt.Errorf("store placement %s: %w", p.ID, err)
		}
		var have Placement
		if err := tx.QueryRow(ctx, `SELECT id, cassandra_keyspace, kafka_topic, kafka_partitions
			FROM placements WHERE id = $1`, p.ID).Scan(&have.ID, &have.CassandraKeyspace, &have.KafkaTopic, &have.KafkaPartitions); err != nil {
			return fmt.Errorf("read placement %s: %w", p.ID, err)
		}
		if have != p {
			return fmt.Errorf("placement %s exists as %+v, not %+v: %w", p.ID, have, p, ErrCatalogConflict)
		}
		var n, maxID int
		if err := tx.QueryRow(ctx, "SELECT count(*), coalesce(max(id), -1) FROM shards").Scan(&n, &maxID); err != nil {
			return fmt.Errorf("count shards: %w", err)
		}
		switch {
		case n == virtualShards && maxID == virtualShards-1:
			return nil
		case n != 0:
			return fmt.Errorf("catalog has %d virtual shards, not %d: %w", n, virtualShards, ErrCatalogConflict)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO shards (id, placement_id, state, epoch)
			SELECT g, $1, $2, 1 FROM generate_series(0, $3::integer - 1) AS g`,
			p.ID, string(ShardActive), virtualShards); err != nil {
			return fmt.Errorf("create %d shards on %s: %w", virtualShards, p.ID, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ensure catalog: %w", err)
	}
	return nil
}

// Shards returns every virtual shard, by id.
func (d *DB) Shards(ctx context.Context) ([]Shard, error) {
	rows, err := d.pool.Query(ctx, "SELECT id, placement_id, state, epoch, updated_at FROM shards ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("read shards: %w", err)
	}
	shards, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Shard, error) {
		var (
			s     Shard
			state string
		)
		err := row.Scan(&s.ID, &s.PlacementID, &state, &s.Epoch, &s.UpdatedAt)
		s.State, s.UpdatedAt = ShardState(state), s.UpdatedAt.UTC()
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("read shards: %w", err)
	}
	return shards, nil
}

// Placements returns every placement, by id.
func (d *DB) Placements(ctx context.Context) ([]Placement, error) {
	rows, err := d.pool.Query(ctx, `SELECT id, cassandra_keyspace, kafka_topic, kafka_partitions
		FROM placements ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read placements: %w", err)
	}
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Placement, error) {
		var p Placement
		err := row.Scan(&p.ID, &p.CassandraKeyspace, &p.KafkaTopic, &p.KafkaPartitions)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("read placements: %w", err)
	}
	return ps, nil
}
