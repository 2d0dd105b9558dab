package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/IBM/sarama"

	"github.com/tidings-chat/tidings/domain"
)

// Tail feeds handle every event of every partition from the offsets in
// from (the next offset to read; a partition missing from it starts at its
// oldest event), then everything appended afterwards, with no consumer
// group and no committed offsets: each process that tails sees every
// event. Within a partition events come in order, one at a time. started
// (may be nil) is called once every partition is being read. Tail returns
// when ctx ends.
//
// Pushes to WebSocket clients use it, starting from the positions the
// views had applied when the process started: events appended before a
// crash but projected after the restart are pushed too.
//
// It uses Sarama's partition consumer directly: Watermill's subscriber
// without a group starts every partition at the same end (oldest or
// newest), which is either a full re-read or a gap.
func Tail(ctx context.Context, cfg Config, from map[int32]int64, handle Handler, started func(), logger *slog.Logger) error {
	consumer, err := sarama.NewConsumer(cfg.Brokers, cfg.consumerConfig())
	if err != nil {
		return fmt.Errorf("connect to kafka %v: %w", cfg.Brokers, err)
	}
	defer consumer.Close()
	parts, err := consumer.Partitions(cfg.Topic)
	if err != nil {
		return fmt.Errorf("partitions of %s: %w", cfg.Topic, err)
	}
	var pcs []sarama.PartitionConsumer
	defer func() {
		for _, pc := range pcs {
			pc.AsyncClose()
		}
	}()
	for _, p := range parts {
		offset, ok := from[p]
		if !ok {
			offset = sarama.OffsetOldest
		}
		pc, err := consumer.ConsumePartition(cfg.Topic, p, offset)
		if errors.Is(err, sarama.ErrOffsetOutOfRange) {
			pc, err = consumer.ConsumePartition(cfg.Topic, p, sarama.OffsetOldest)
		}
		if err != nil {
			return fmt.Errorf("tail %s/%d from %d: %w", cfg.Topic, p, offset, err)
		}
		pcs = append(pcs, pc)
	}
	if started != nil {
		started()
	}
	var wg sync.WaitGroup
	for _, pc := range pcs {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case err := <-pc.Errors():
					if err != nil && logger != nil {
						logger.Warn("tail read failed", "err", err)
					}
				case m, ok := <-pc.Messages():
					if !ok {
						return
					}
					pos := domain.Position{Partition: m.Partition, Offset: m.Offset}
					ev, err := domain.UnmarshalEvent(m.Value)
					if err != nil {
						if logger != nil {
							logger.Error("undecodable event; not pushed", "pos", pos.String(), "err", err)
						}
						continue
					}
					_ = handle(ctx, ev, pos)
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}
