package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"

	"github.com/tidings-chat/tidings/projections"
)

// Tail implements projections.Stream with a Sarama partition consumer (no
// group, nothing committed). A from before the partition's oldest offset
// starts at the oldest; a from beyond its next offset is an error (the
// caller's positions belong to another log). Records reach handle in
// batches of up to Config.MaxBatch: after each blocking receive, whatever
// is already buffered. An undecodable record ends Tail with an error
// wrapping ErrUndecodable that names its position, after the records
// before it were handed out.
func (s *Stream) Tail(ctx context.Context, partition int32, from int64, handle projections.BatchHandler) error {
	if partition < 0 || partition >= s.cfg.Partitions {
		return fmt.Errorf("tail %s/%d: partition out of range [0, %d)", s.cfg.Topic, partition, s.cfg.Partitions)
	}
	tc, err := s.tails.acquire(partition)
	if err != nil {
		return err
	}
	defer s.tails.release(tc, partition)
	pc, err := s.consumePartition(ctx, tc.consumer, partition, from)
	if err != nil {
		return err
	}
	// Close waits until the partition is free again on tc.consumer.
	defer func() { _ = pc.Close() }()
	b := batcher{topic: s.cfg.Topic, msgs: pc.Messages(), errs: pc.Errors(), max: s.cfg.MaxBatch, logger: s.logger}
	for {
		batch, err := b.next(ctx)
		if errors.Is(err, errStopped) {
			return fmt.Errorf("tail %s/%d: %w", s.cfg.Topic, partition, err)
		}
		if err != nil {
			return err
		}
		if err := handle(ctx, batch); err != nil {
			return err
		}
	}
}

func (s *Stream) consumePartition(ctx context.Context, c sarama.Consumer, partition int32, from int64) (sarama.PartitionConsumer, error) {
	if from < 0 { // before any record; Sarama reads -1 and -2 as newest and oldest
		from = sarama.OffsetOldest
	}
	pc, err := c.ConsumePartition(s.cfg.Topic, partition, from)
	if !errors.Is(err, sarama.ErrOffsetOutOfRange) {
		if err != nil {
			return nil, fmt.Errorf("tail %s/%d from %d: %w", s.cfg.Topic, partition, from, err)
		}
		return pc, nil
	}
	oldest, next, berr := s.Bounds(ctx)
	if berr != nil {
		return nil, fmt.Errorf("tail %s/%d from %d: %w", s.cfg.Topic, partition, from, errors.Join(err, berr))
	}
	if from >= oldest[partition] {
		return nil, fmt.Errorf("tail %s/%d from %d: beyond the partition's end %d: %w", s.cfg.Topic, partition, from, next[partition], err)
	}
	pc, err = c.ConsumePartition(s.cfg.Topic, partition, sarama.OffsetOldest)
	if err != nil {
		return nil, fmt.Errorf("tail %s/%d from the oldest: %w", s.cfg.Topic, partition, err)
	}
	return pc, nil
}

// tailPool hands out Sarama consumers to Tail calls. A Sarama consumer
// reads each partition at most once at a time, and fetches every
// partition it reads from a broker in one request on one connection. So
// the pool keeps one consumer for as many tails as possible (one fetch
// per broker serves all of them) and makes another only for a partition
// that is already being tailed. Consumers live until close.
type tailPool struct {
	cfg Config

	mu        sync.Mutex
	consumers []*tailConsumer
	closed    bool
}

type tailConsumer struct {
	consumer sarama.Consumer
	busy     map[int32]bool // partitions being tailed; guarded by tailPool.mu
}

func (tp *tailPool) acquire(partition int32) (*tailConsumer, error) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.closed {
		return nil, errors.New("kafka: stream closed")
	}
	for _, tc := range tp.consumers {
		if !tc.busy[partition] {
			tc.busy[partition] = true
			return tc, nil
		}
	}
	c, err := sarama.NewConsumer(tp.cfg.Brokers, tp.cfg.consumerConfig())
	if err != nil {
		return nil, fmt.Errorf("connect to kafka %v: %w", tp.cfg.Brokers, err)
	}
	tc := &tailConsumer{consumer: c, busy: map[int32]bool{partition: true}}
	tp.consumers = append(tp.consumers, tc)
	return tc, nil
}

func (tp *tailPool) release(tc *tailConsumer, partition int32) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	delete(tc.busy, partition)
}

func (tp *tailPool) close() error {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.closed = true
	var errs []error
	for _, tc := range tp.consumers {
		errs = append(errs, tc.consumer.Close())
	}
	tp.consumers = nil
	return errors.Join(errs...)
}
