package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/tidings-chat/tidings/adapters/postgres"
)

// migrate applies the schema migrations of the configured real stores
// (PostgreSQL, Cassandra). The embedded store needs none.
func migrate(ctx context.Context, args []string) error {
	c, err := parse("migrate", args)
	if err != nil {
		return err
	}
	if c.PostgresURL == "" && c.CassandraHosts == "" {
		return errors.New("nothing to migrate: set --postgres-url and/or --cassandra-hosts")
	}
	if c.PostgresURL != "" {
		pg, err := postgres.Open(ctx, postgres.Config{URL: c.PostgresURL})
		if err != nil {
			return err
		}
		defer pg.Close()
		if err := pg.Migrate(ctx); err != nil {
			return err
		}
		fmt.Println("postgres: migrated")
	}
	if c.CassandraHosts != "" {
		if err := migrateCassandra(ctx, c); err != nil {
			return err
		}
		fmt.Println("cassandra: migrated")
	}
	return nil
}
