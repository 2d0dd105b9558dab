package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	wkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"

	"github.com/tidings-chat/tidings/domain"
)

// Progress is called now and then during a replay with the events handled
// so far and the total to handle.
type Progress func(done, total int64)

// Replay feeds every event from the start of each partition up to the end
// the partition had when Replay began, then returns. Order within a
// partition is kept; partitions run in parallel. It uses no consumer group
// and commits nothing, so it does not disturb running consumers.
func Replay(ctx context.Context, cfg Config, handle Handler, progress Progress, logger *slog.Logger) (int64, error) {
	_, n, err := ReplayFrom(ctx, cfg, nil, handle, progress, logger)
	return n, err
}

// ReplayFrom is Replay starting at the offsets in from (a partition missing
// from it starts at its oldest). The records before from are still read
// (Watermill starts every partition at the same end) but not handed to
// handle. It returns the end each partition had when it began.
func ReplayFrom(ctx context.Context, cfg Config, from map[int32]int64, handle Handler, progress Progress, logger *slog.Logger) (map[int32]int64, int64, error) {
	oldest, next, err := Offsets(cfg)
	if err != nil {
		return nil, 0, err
	}
	start := map[int32]int64{}
	var total int64
	remaining := map[int32]bool{}
	for p, end := range next {
		start[p] = max(oldest[p], from[p])
		if end > start[p] {
			total += end - start[p]
			remaining[p] = true
		}
	}
	if total == 0 {
		return next, 0, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := wkafka.NewSubscriber(wkafka.SubscriberConfig{
		Brokers:               cfg.Brokers,
		Unmarshaler:           marshaler{},
		OverwriteSaramaConfig: cfg.consumerConfig(),
		NackResendSleep:       200 * time.Millisecond,
	}, watermillLogger(logger))
	if err != nil {
		return nil, 0, fmt.Errorf("kafka subscriber: %w", err)
	}
	defer sub.Close()
	msgs, err := sub.Subscribe(ctx, cfg.Topic)
	if err != nil {
		return nil, 0, fmt.Errorf("subscribe to %s: %w", cfg.Topic, err)
	}

	var (
		done    atomic.Int64
		mu      sync.Mutex
		failure error // last handler error
	)
	stop := make(chan struct{})
	wrapped := func(ctx context.Context, ev domain.Event, pos domain.Position) error {
		if pos.Offset >= next[pos.Partition] || pos.Offset < start[pos.Partition] {
			return nil // appended after the replay began, or before from
		}
		if err := handle(ctx, ev, pos); err != nil {
			mu.Lock()
			failure = err // the latest; a failing event is retried until ctx ends
			mu.Unlock()
			return err
		}
		done.Add(1)
		if pos.Offset == next[pos.Partition]-1 {
			mu.Lock()
			delete(remaining, pos.Partition)
			if len(remaining) == 0 {
				close(stop)
			}
			mu.Unlock()
		}
		return nil
	}
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				cancel()
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				if progress != nil {
					progress(done.Load(), total)
				}
			}
		}
	}()
	_ = work(ctx, cfg.Workers, msgs, wrapped, logger)
	if progress != nil {
		progress(done.Load(), total)
	}
	if n := done.Load(); n < total {
		mu.Lock()
		defer mu.Unlock()
		return nil, n, fmt.Errorf("replay stopped after %d of %d events: %w", n, total, errors.Join(failure, ctx.Err()))
	}
	return next, total, nil
}
