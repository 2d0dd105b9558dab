package main

import (
	"context"
	"errors"
	"log/slog"
)

func openCassandra(ctx context.Context, c *config, b *backends, log *slog.Logger) error {
	return errors.New("cassandra views: not wired yet")
}

func migrateCassandra(ctx context.Context, c *config) error {
	return errors.New("cassandra views: not wired yet")
}
