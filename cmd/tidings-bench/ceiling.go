package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/adapters/kafka"
	"github.com/tidings-chat/tidings/domain"
)

// runCeiling measures a raw component ceiling on this machine, for
// comparison with full runs. "produce": the event log's Append (the
// watermill-kafka publisher tidings uses, idempotent, acks=all) from
// -concurrency goroutines for -duration, against -brokers or, when empty,
// the embedded broker (fsync per batch) on a temp dir. "cassandra": the
// Cassandra view store's writes of one message (see ceilingCassandra).
func runCeiling(ctx context.Context, c *config) error {
	switch c.Ceiling {
	case "produce":
	case "cassandra":
		return ceilingCassandra(ctx, c)
	default:
		return fmt.Errorf("-ceiling %q: want produce or cassandra (the HTTP, WebSocket and Pebble ceilings are Go benchmarks, see docs/benchmarks.md)", c.Ceiling)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	brokers := strings.Split(c.Brokers, ",")
	target := c.Brokers
	if c.Brokers == "" {
		dir, err := os.MkdirTemp("", "tidings-bench-broker-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		b, err := embedded.StartBroker(dir, 0, quiet)
		if err != nil {
			return err
		}
		defer b.Close()
		brokers, target = b.Addrs(), "embedded broker"
	}
	cfg := kafka.Config{Brokers: brokers, Topic: fmt.Sprintf("bench.ceiling.%d", time.Now().UnixNano())}
	cfg.SetDefaults()
	if err := kafka.EnsureTopic(cfg); err != nil {
		return err
	}
	log, err := kafka.NewEventLog(cfg, quiet)
	if err != nil {
		return err
	}
	defer log.Close()

	h := hammer(ctx, c, func(_ int64, ev domain.MessageSent) error {
		_, err := log.Append(context.Background(), ev)
		return err
	})
	s := h.lat.Summary()
	fmt.Printf("ceiling produce (%s, topic %s, %d partitions, %d goroutines): %.0f appends/s over %.1f s, failed %d; append latency ms p50 %.2f p99 %.2f max %.2f\n",
		target, cfg.Topic, cfg.Partitions, c.Concurrency, h.rate(), h.secs, h.failed, s.P50, s.P99, s.Max)
	return nil
}
