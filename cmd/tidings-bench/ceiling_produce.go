package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/adapters/kafka"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// producePartitions is the partition count of the produce ceiling's log,
// the product's default (--kafka-partitions).
const producePartitions = 16

// ceilingProduce measures the event log's Append, the product's code
// path, from -concurrency goroutines for -duration: with -brokers, the
// Kafka adapter (a watermill-kafka publisher, idempotent, acks=all) on a
// fresh topic of 16 partitions; without, the embedded log
// (embedded.OpenEventLog: group-committed, fsynced before Append returns)
// on a temp dir that is removed afterwards.
func ceilingProduce(ctx context.Context, c *config) (res *ceilingResult, err error) {
	var (
		log    commands.EventLog
		target string
	)
	if c.Brokers == "" {
		dir, err := os.MkdirTemp("", "tidings-bench-log-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		l, err := embedded.OpenEventLog(dir, embedded.EventLogConfig{Partitions: producePartitions})
		if err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, l.Close()) }()
		log, target = l, fmt.Sprintf("embedded event log (%d partitions, %s)", producePartitions, dir)
	} else {
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		cfg := kafka.Config{Brokers: strings.Split(c.Brokers, ","), Partitions: producePartitions,
			Topic: fmt.Sprintf("bench.ceiling.%d", time.Now().UnixNano())}
		cfg.SetDefaults()
		if err := kafka.EnsureTopic(cfg); err != nil {
			return nil, err
		}
		l, err := kafka.NewEventLog(cfg, quiet)
		if err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, l.Close()) }()
		log, target = l, fmt.Sprintf("Kafka %s, topic %s (%d partitions)", c.Brokers, cfg.Topic, cfg.Partitions)
	}
	h := hammer(ctx, c, func(_ int64, ev domain.MessageSent) error {
		_, err := log.Append(context.Background(), ev)
		return err
	})
	return h.result("produce", target, "appends", c.Concurrency), nil
}
