package main

import (
	"context"
	"log/slog"

	"github.com/tidings-chat/tidings/adapters/cassandra"
)

func (c *config) cassandraConfig() cassandra.Config {
	return cassandra.Config{Hosts: list(c.CassandraHosts), Keyspace: c.CassandraKeyspace,
		Consistency: c.CassandraConsistency, ReplicationFactor: c.CassandraReplication}
}

// openCassandra opens the default placement's views on Cassandra,
// migrating first when asked.
func openCassandra(ctx context.Context, c *config, b *backends, log *slog.Logger) (*cassandra.Views, error) {
	v, err := openKeyspace(ctx, c, b, c.CassandraKeyspace, c.Migrate)
	if err != nil {
		return nil, err
	}
	b.checks["cassandra"] = v.Ping
	log.Info("views on cassandra", "keyspace", c.CassandraKeyspace, "batches", v.KeyBatches())
	return v, nil
}

// openKeyspace opens the views in keyspace (migrating it first when asked)
// and closes them with the backends.
func openKeyspace(ctx context.Context, c *config, b *backends, keyspace string, migrate bool) (*cassandra.Views, error) {
	cfg := c.cassandraConfig()
	cfg.Keyspace = keyspace
	if migrate {
		if err := cassandra.Migrate(ctx, cfg); err != nil {
			return nil, err
		}
	}
	v, err := cassandra.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	b.closer = append(b.closer, func() error { v.Close(); return nil })
	return v, nil
}

func migrateCassandra(ctx context.Context, c *config) error {
	return cassandra.Migrate(ctx, c.cassandraConfig())
}
