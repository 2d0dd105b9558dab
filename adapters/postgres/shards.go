package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidings-chat/tidings/projections"
)

// NotifyChannel is the LISTEN/NOTIFY channel of catalog changes.
const NotifyChannel = "tidings_catalog"

var _ projections.CatalogAdmin = (*ShardCatalog)(nil)

// ShardCatalog is the shard catalog in PostgreSQL as the processes and the
// mover use it (migration 0004). Safe for concurrent use.
type ShardCatalog struct {
	db        *DB
	placement Placement // template for new placements (topic, partitions)
	changed   chan struct{}
}

// ShardCatalog returns the catalog; template gives the Kafka topic and
// partitions that new placements record.
func (d *DB) ShardCatalog(template Placement) *ShardCatalog {
	return &ShardCatalog{db: d, placement: template, changed: make(chan struct{}, 1)}
}

// Listen signals Changed on every NOTIFY of NotifyChannel until ctx ends,
// reconnecting after errors, and once each time its LISTEN is in place
// (notifications sent while it was not listening are lost, so the cache
// reloads then). Processes still poll, so a lost notification only delays
// a change.
func (c *ShardCatalog) Listen(ctx context.Context, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	for ctx.Err() == nil {
		err := c.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Warn("catalog LISTEN failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (c *ShardCatalog) listenOnce(ctx context.Context) error {
	conn, err := c.db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return err
	}
	defer func() { _, _ = conn.Exec(context.Background(), "UNLISTEN "+NotifyChannel) }()
	for {
		c.signal()
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
	}
}

// signal signals Changed without blocking (one pending signal is enough).
func (c *ShardCatalog) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// Changed implements projections.CatalogSource.
func (c *ShardCatalog) Changed() <-chan struct{} { return c.changed }

// Load implements projections.CatalogSource.
func (c *ShardCatalog) Load(ctx context.Context) (int64, []projections.ShardInfo, error) {
	var (
		version int64
		out     []projections.ShardInfo
	)
	err := pgx.BeginTxFunc(ctx, c.db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT version FROM catalog_version").Scan(&version); err != nil {
			return fmt.Errorf("read catalog version: %w", err)
		}
		rows, err := tx.Query(ctx, "SELECT id, placement_id, state, coalesce(target_placement, ''), epoch FROM shards ORDER BY id")
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (projections.ShardInfo, error) {
			var (
				s     projections.ShardInfo
				state string
			)
			err := row.Scan(&s.ID, &s.Placement, &state, &s.Target, &s.Epoch)
			s.State = projections.ShardState(state)
			return s, err
		})
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("load shard catalog: %w", err)
	}
	return version, out, nil
}

// Ack implements projections.CatalogSource.
func (c *ShardCatalog) Ack(ctx context.Context, node string, version int64, lease time.Duration) error {
	_, err := c.db.pool.Exec(ctx, `INSERT INTO catalog_nodes (node, version, lease_until) VALUES ($1, $2, now() + $3::interval)
		ON CONFLICT (node) DO UPDATE SET version = excluded.version, lease_until = excluded.lease_until`,
		node, version, strconv.FormatInt(lease.Milliseconds(), 10)+" milliseconds")
	if err != nil {
		return fmt.Errorf("acknowledge catalog: %w", err)
	}
	return nil
}

// UpdateShard implements projections.CatalogAdmin: one transaction that
// changes the shard, bumps its epoch and the catalog version, and notifies.
func (c *ShardCatalog) UpdateShard(ctx context.Context, id int, fn func(*projections.ShardInfo) error) (projections.ShardInfo, int64, error) {
	var (
		info    projections.ShardInfo
		version int64
	)
	err := pgx.BeginFunc(ctx, c.db.pool, func(tx pgx.Tx) error {
		var state string
		if err := tx.QueryRow(ctx, `SELECT placement_id, state, coalesce(target_placement, ''), epoch FROM shards WHERE id = $1 FOR UPDATE`, id).
			Scan(&info.Placement, &state, &info.Target, &info.Epoch); err != nil {
			return fmt.Errorf("read shard %d: %w", id, err)
		}
		info.ID, info.State = id, projections.ShardState(state)
		if err := fn(&info); err != nil {
			return err
		}
		var target any
		if info.Target != "" {
			target = info.Target
		}
		if err := tx.QueryRow(ctx, `UPDATE shards SET placement_id = $2, state = $3, target_placement = $4, epoch = epoch + 1, updated_at = now()
			WHERE id = $1 RETURNING epoch`, id, info.Placement, string(info.State), target).Scan(&info.Epoch); err != nil {
			return fmt.Errorf("update shard %d: %w", id, err)
		}
		if err := tx.QueryRow(ctx, "UPDATE catalog_version SET version = version + 1 RETURNING version").Scan(&version); err != nil {
			return fmt.Errorf("bump catalog version: %w", err)
		}
		_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", NotifyChannel, strconv.FormatInt(version, 10))
		return err
	})
	if err != nil {
		return projections.ShardInfo{}, 0, err
	}
	return info, version, nil
}

// AddPlacement implements projections.CatalogAdmin: a placement whose
// Cassandra keyspace is its id, on the template's topic.
func (c *ShardCatalog) AddPlacement(ctx context.Context, id string) error {
	p := c.placement
	p.ID, p.CassandraKeyspace = id, id
	if err := p.Validate(); err != nil {
		return err
	}
	_, err := c.db.pool.Exec(ctx, `INSERT INTO placements (id, cassandra_keyspace, kafka_topic, kafka_partitions)
		VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`, p.ID, p.CassandraKeyspace, p.KafkaTopic, p.KafkaPartitions)
	if err != nil {
		return fmt.Errorf("add placement %s: %w", id, err)
	}
	return nil
}

// Placements implements projections.CatalogAdmin.
func (c *ShardCatalog) Placements(ctx context.Context) ([]string, error) {
	rows, err := c.db.pool.Query(ctx, "SELECT id FROM placements ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list placements: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list placements: %w", err)
	}
	return out, nil
}

// Checkpoint implements projections.CatalogAdmin.
func (c *ShardCatalog) Checkpoint(ctx context.Context, shard int) (map[int32]int64, error) {
	var raw []byte
	err := c.db.pool.QueryRow(ctx, "SELECT offsets FROM shard_moves WHERE shard = $1", shard).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return map[int32]int64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read move checkpoint of shard %d: %w", shard, err)
	}
	out := map[int32]int64{}
	return out, json.Unmarshal(raw, &out)
}

// SaveCheckpoint implements projections.CatalogAdmin.
func (c *ShardCatalog) SaveCheckpoint(ctx context.Context, shard int, next map[int32]int64) error {
	if next == nil {
		_, err := c.db.pool.Exec(ctx, "DELETE FROM shard_moves WHERE shard = $1", shard)
		return err
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return err
	}
	_, err = c.db.pool.Exec(ctx, `INSERT INTO shard_moves (shard, offsets) VALUES ($1, $2)
		ON CONFLICT (shard) DO UPDATE SET offsets = excluded.offsets, updated_at = now()`, shard, raw)
	if err != nil {
		return fmt.Errorf("save move checkpoint of shard %d: %w", shard, err)
	}
	return nil
}

// NodesBehind implements projections.CatalogAdmin.
func (c *ShardCatalog) NodesBehind(ctx context.Context, version int64) ([]string, error) {
	rows, err := c.db.pool.Query(ctx, "SELECT node FROM catalog_nodes WHERE lease_until > now() AND version < $1 ORDER BY node", version)
	if err != nil {
		return nil, fmt.Errorf("read catalog nodes: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// EnsureShards creates the template placement under id "default" and every
// virtual shard on it, unless the catalog has shards already. Concurrent
// calls are safe.
func (c *ShardCatalog) EnsureShards(ctx context.Context, virtualShards int) error {
	p := c.placement
	p.ID = "default"
	if err := p.Validate(); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, c.db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE placements, shards IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("lock catalog: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO placements (id, cassandra_keyspace, kafka_topic, kafka_partitions)
			VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`, p.ID, p.CassandraKeyspace, p.KafkaTopic, p.KafkaPartitions); err != nil {
			return fmt.Errorf("store placement %s: %w", p.ID, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO shards (id, placement_id, state, epoch)
			SELECT g, $1, 'active', 1 FROM generate_series(0, $2::integer - 1) AS g ON CONFLICT (id) DO NOTHING`,
			p.ID, virtualShards); err != nil {
			return fmt.Errorf("create shards: %w", err)
		}
		return nil
	})
}
