package kafka

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	wkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

var _ commands.EventLog = (*EventLog)(nil)

// Metadata keys set on every event message.
const (
	metaKey  = "key"  // partition key: the recipient
	metaType = "type" // event type, for tools that do not decode payloads
)

// EventLog appends events through a Watermill Kafka publisher. Append is
// safe for concurrent use; Sarama batches concurrent appends into one
// produce request, so throughput grows with the number of callers.
type EventLog struct {
	cfg Config
	pub *wkafka.Publisher
}

// NewEventLog connects a publisher. The topic must exist (EnsureTopic) with
// cfg.Partitions partitions.
func NewEventLog(cfg Config, logger *slog.Logger) (*EventLog, error) {
	pub, err := wkafka.NewPublisher(wkafka.PublisherConfig{
		Brokers:               cfg.Brokers,
		Marshaler:             marshaler{partitions: cfg.Partitions},
		OverwriteSaramaConfig: cfg.producerConfig(),
	}, watermillLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("kafka publisher: %w", err)
	}
	return &EventLog{cfg: cfg, pub: pub}, nil
}

// Append implements commands.EventLog: it returns once every in-sync
// replica has the event, with the event's partition and offset.
func (l *EventLog) Append(ctx context.Context, ev domain.Event) (domain.Position, error) {
	payload, err := domain.MarshalEvent(ev)
	if err != nil {
		return domain.Position{}, err
	}
	msg := message.NewMessage(string(ev.Message())+"/"+ev.Type(), payload)
	msg.Metadata.Set(metaKey, string(ev.Key()))
	msg.Metadata.Set(metaType, ev.Type())
	s := &sink{}
	msg.SetContext(context.WithValue(ctx, sinkKey{}, s))
	if err := l.pub.Publish(l.cfg.Topic, msg); err != nil {
		return domain.Position{}, err
	}
	if s.pm == nil {
		return domain.Position{}, fmt.Errorf("append %s: no produce result", ev.Type())
	}
	return domain.Position{Partition: s.pm.Partition, Offset: s.pm.Offset}, nil
}

// Close flushes and closes the publisher.
func (l *EventLog) Close() error { return l.pub.Close() }

// sink catches the Sarama message of one publish; Sarama fills in its
// partition and offset when the broker acknowledges it.
type sink struct{ pm *sarama.ProducerMessage }

type sinkKey struct{}

// marshaler is Watermill's default marshaler plus the partition key, and it
// hands the Sarama message to the publishing call's sink.
// The partition is chosen here, not by Sarama's hash: it is the key's
// virtual shard modulo the partition count (domain.PartitionOf), so every
// component can tell which partition holds a user's events.
type marshaler struct {
	wkafka.DefaultMarshaler
	partitions int32
}

func (m marshaler) Marshal(topic string, msg *message.Message) (*sarama.ProducerMessage, error) {
	pm, err := m.DefaultMarshaler.Marshal(topic, msg)
	if err != nil {
		return nil, err
	}
	key := msg.Metadata.Get(metaKey)
	pm.Key = sarama.StringEncoder(key)
	pm.Partition = domain.PartitionOf(domain.UserID(key), m.partitions)
	if s, ok := msg.Context().Value(sinkKey{}).(*sink); ok {
		s.pm = pm
	}
	return pm, nil
}

func watermillLogger(l *slog.Logger) watermill.LoggerAdapter {
	if l == nil {
		return watermill.NopLogger{}
	}
	return watermill.NewSlogLoggerWithLevelMapping(l.With("component", "watermill"), map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug,
	})
}
