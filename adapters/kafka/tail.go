package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	wkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
)

// Tail feeds every event appended from now on, from every partition, to
// handle, with no consumer group and no committed offsets: each process
// that tails sees every event. Within a partition events come in order,
// one at a time. Tail returns when ctx ends. Pushes to WebSocket clients
// use it, so a user connected to any process hears of everything.
func Tail(ctx context.Context, cfg Config, handle Handler, logger *slog.Logger) error {
	sc := cfg.consumerConfig()
	sc.Consumer.Offsets.Initial = sarama.OffsetNewest
	sub, err := wkafka.NewSubscriber(wkafka.SubscriberConfig{
		Brokers:               cfg.Brokers,
		Unmarshaler:           marshaler{},
		OverwriteSaramaConfig: sc,
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
