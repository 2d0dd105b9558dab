package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/tidings-chat/tidings/adapters/cassandra"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// ceilingCassandra measures the raw write rate of the Cassandra view store
// (adapters/cassandra.Views, the code the projector uses): -concurrency
// goroutines each apply one MessageSent for both parties (message, history,
// history bucket, unread, unread bucket, feed item and two conversation
// rows), then record the position, exactly as BenchmarkApplySent does for
// Pebble, for -duration. The rows go to a fresh keyspace
// bench_ceiling_<id> (created with Migrate, replication factor 1) on
// -cassandra-hosts, or on the host scripts/services.sh env names.
func ceilingCassandra(ctx context.Context, c *config) error {
	hosts := c.CassandraHosts
	if hosts == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		env, err := servicesEnv(ctx, root)
		if err != nil {
			return err
		}
		if hosts = env["TIDINGS_CASSANDRA_HOSTS"]; hosts == "" {
			return fmt.Errorf("no -cassandra-hosts and scripts/services.sh env names none")
		}
	}
	if err := loopbackHosts("-cassandra-hosts", hosts); err != nil {
		return err
	}
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	cfg := cassandra.Config{Hosts: strings.Split(hosts, ","), Keyspace: "bench_ceiling_" + hex.EncodeToString(id)}
	mctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := cassandra.Migrate(mctx, cfg); err != nil {
		return err
	}
	views, err := cassandra.Open(mctx, cfg)
	if err != nil {
		return err
	}
	defer views.Close()

	h := hammer(ctx, c, func(i int64, ev domain.MessageSent) error {
		pos := domain.Position{Partition: domain.PartitionOf(ev.To, 16), Offset: i}
		for _, u := range projections.Parties(ev) {
			if err := projections.ApplyFor(context.Background(), views, ev, u, pos); err != nil {
				return err
			}
		}
		return views.RecordPosition(context.Background(), pos)
	})
	s := h.lat.Summary()
	fmt.Printf("ceiling cassandra (%s, keyspace %s, %d goroutines): %.0f messages/s (both parties' rows + position) over %.1f s, failed %d; per-message latency ms p50 %.2f p99 %.2f max %.2f\n",
		hosts, cfg.Keyspace, c.Concurrency, h.rate(), h.secs, h.failed, s.P50, s.P99, s.Max)
	if h.firstErr != nil {
		fmt.Printf("first error: %v\n", h.firstErr)
	}
	return nil
}

// loopbackHosts refuses host:port lists that leave this machine.
func loopbackHosts(flagName, list string) error {
	for _, b := range strings.Split(list, ",") {
		h, _, err := net.SplitHostPort(strings.TrimSpace(b))
		if err != nil || (h != "127.0.0.1" && h != "localhost" && h != "::1") {
			return fmt.Errorf("%s %q: only loopback hosts are allowed", flagName, b)
		}
	}
	return nil
}
