package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	wkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/tidings-chat/tidings/domain"
)

// Handler processes one event at its position. Returning an error redelivers
// the event after a pause; the next event of that partition waits for it.
type Handler func(ctx context.Context, ev domain.Event, pos domain.Position) error

// Consume feeds every event of the topic to handle, as member group of a
// consumer group that starts from the oldest offset when new. Within a
// partition, events come one at a time in log order (Watermill holds the
// next one until the previous is acknowledged); up to cfg.Workers
// partitions are handled at once. Offsets are committed after the handler
// succeeds, so delivery is at-least-once. Consume returns when ctx ends.
func Consume(ctx context.Context, cfg Config, group string, handle Handler, logger *slog.Logger) error {
	sub, err := wkafka.NewSubscriber(wkafka.SubscriberConfig{
		Brokers:               cfg.Brokers,
		Unmarshaler:           marshaler{},
		OverwriteSaramaConfig: cfg.consumerConfig(),
		ConsumerGroup:         group,
		NackResendSleep:       200 * time.Millisecond,
		ReconnectRetrySleep:   time.Second,
	}, watermillLogger(logger))
	if err != nil {
		return fmt.Errorf("kafka subscriber: %w", err)
	}
	defer sub.Close()
	msgs, err := sub.Subscribe(ctx, cfg.Topic)
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", cfg.Topic, err)
	}
	return work(ctx, cfg.Workers, msgs, handle, logger)
}

// work runs workers goroutines that handle msgs until ctx ends or msgs
// closes.
func work(ctx context.Context, workers int, msgs <-chan *message.Message, handle Handler, logger *slog.Logger) error {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for msg := range msgs {
				process(ctx, msg, handle, logger)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func process(ctx context.Context, msg *message.Message, handle Handler, logger *slog.Logger) {
	pos, ok := position(msg)
	if !ok {
		logger.Error("event without partition or offset; skipped", "uuid", msg.UUID)
		msg.Ack()
		return
	}
	ev, err := domain.UnmarshalEvent(msg.Payload)
	if err != nil {
		// A reader that cannot decode an event must not skip it: the views
		// would silently diverge. Stop this partition and say why.
		logger.Error("undecodable event; partition stalls until fixed", "pos", pos.String(), "err", err)
		msg.Nack()
		return
	}
	if err := handle(ctx, ev, pos); err != nil {
		if ctx.Err() == nil {
			logger.Warn("event handler failed; will retry", "pos", pos.String(), "type", ev.Type(), "err", err)
		}
		msg.Nack()
		return
	}
	msg.Ack()
}

func position(msg *message.Message) (domain.Position, bool) {
	p, ok1 := wkafka.MessagePartitionFromCtx(msg.Context())
	o, ok2 := wkafka.MessagePartitionOffsetFromCtx(msg.Context())
	return domain.Position{Partition: p, Offset: o}, ok1 && ok2
}
