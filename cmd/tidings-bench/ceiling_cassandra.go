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
// (adapters/cassandra.Views, the code the views pipeline uses):
// -concurrency goroutines each apply one MessageSent for both parties with
// its position, through Store.ApplyBatch with a batch of one record, for
// -duration. The rows go to a fresh keyspace
// bench_ceiling_<id> (created with Migrate, replication factor 1) on
// -cassandra-hosts, or on the host scripts/services.sh env names.
func ceilingCassandra(ctx context.Context, c *config) (*ceilingResult, error) {
	hosts := c.CassandraHosts
	if hosts == "" {
		root, err := moduleRoot()
		if err != nil {
			return nil, err
		}
		env, err := servicesEnv(ctx, root)
		if err != nil {
			return nil, err
		}
		if hosts = env["TIDINGS_CASSANDRA_HOSTS"]; hosts == "" {
			return nil, fmt.Errorf("no -cassandra-hosts and scripts/services.sh env names none")
		}
	}
	if err := loopbackHosts("-cassandra-hosts", hosts); err != nil {
		return nil, err
	}
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	cfg := cassandra.Config{Hosts: strings.Split(hosts, ","), Keyspace: "bench_ceiling_" + hex.EncodeToString(id)}
	mctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := cassandra.Migrate(mctx, cfg); err != nil {
		return nil, err
	}
	views, err := cassandra.Open(mctx, cfg)
	if err != nil {
		return nil, err
	}
	defer views.Close()

	h := hammer(ctx, c, func(i int64, ev domain.MessageSent) error {
		pos := domain.Position{Partition: domain.PartitionOf(ev.To, producePartitions), Offset: i}
		b := projections.Batch{Partition: pos.Partition, Records: []projections.Record{{Pos: pos, Event: ev}}}
		_, err := views.ApplyBatch(context.Background(), projections.ChangesOf(b), map[int32]int64{pos.Partition: pos.Offset})
		return err
	})
	target := fmt.Sprintf("Cassandra %s, keyspace %s, both parties' rows + position per message", hosts, cfg.Keyspace)
	return h.result("cassandra", target, "messages", c.Concurrency), nil
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
