package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/adapters/postgres"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// defaultPlacement holds every shard until an operator moves one.
const defaultPlacement = "default"

// openSharding builds the shard catalog (PostgreSQL when configured, else
// the embedded store), follows it in the background, and puts a Router
// over the placements' view stores in b.views. home is the default
// placement's store, which also keeps the applied positions.
func openSharding(ctx context.Context, c *config, b *backends, db *embedded.DB, home projections.Store, log *slog.Logger) error {
	var admin projections.CatalogAdmin
	if b.pg != nil {
		sc := b.pg.ShardCatalog(postgres.Placement{CassandraKeyspace: c.CassandraKeyspace, KafkaTopic: b.topic, KafkaPartitions: b.partitions})
		if err := sc.EnsureShards(ctx, domain.VirtualShards); err != nil {
			return fmt.Errorf("shard catalog: %w", err)
		}
		lctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); sc.Listen(lctx, log) }()
		b.closer = append(b.closer, func() error { stop(); <-done; return nil })
		admin = sc
	} else {
		ec := db.Catalog()
		if err := ec.EnsureShards(ctx, defaultPlacement); err != nil {
			return fmt.Errorf("shard catalog: %w", err)
		}
		admin = ec
	}
	cat, err := projections.NewCatalog(ctx, admin, nodeID(), log)
	if err != nil {
		return err
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); cat.Run(rctx) }()
	b.closer = append(b.closer, func() error { stop(); <-done; return cat.Release(context.Background()) })
	b.catalog, b.admin = cat, admin
	b.checks["shard catalog"] = func(context.Context) error { return cat.Fresh() }
	b.router = projections.NewRouter(cat, placementOpener(c, b, home), home)
	b.views = b.router
	return nil
}

// placementOpener opens a placement's view store: the default one is home;
// any other is a Cassandra keyspace named like the placement (migrated on
// first use) or an embedded store under data/placements/<id>.
func placementOpener(c *config, b *backends, home projections.Store) projections.StoreOpener {
	return func(ctx context.Context, placement string) (projections.Store, error) {
		if placement == defaultPlacement {
			return home, nil
		}
		if c.CassandraHosts != "" {
			return openKeyspace(ctx, c, b, placement, true)
		}
		pdb, err := embedded.OpenPlacement(c.Data, placement)
		if err != nil {
			return nil, err
		}
		b.closer = append(b.closer, pdb.Close)
		return pdb.Views(), nil
	}
}

// nodeID names this process in the catalog's acknowledgements.
func nodeID() string {
	host, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s-%d-%s", filepath.Base(host), os.Getpid(), hex.EncodeToString(r[:]))
}
