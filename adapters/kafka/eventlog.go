package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

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

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("kafka: event log closed")

// EventLog appends events through a Watermill Kafka publisher (a Sarama
// sync producer underneath, configured by Config.producerConfig). Append is
// safe for concurrent use; concurrent appends share produce requests, so
// throughput grows with the number of callers.
//
// At most Config.MaxInFlight publishes are in flight at once: with the
// brokers down, callers wait for a slot (until their ctx ends) instead of
// piling up goroutines without bound.
type EventLog struct {
	cfg   Config
	pub   *wkafka.Publisher
	slots chan struct{} // one token per publish in flight

	mu       sync.RWMutex // guards closed against Close; held shared by publishes
	closed   bool
	inflight sync.WaitGroup
}

// NewEventLog connects a publisher. The topic must exist (EnsureTopic) with
// cfg.Partitions partitions.
func NewEventLog(cfg Config, logger *slog.Logger) (*EventLog, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pub, err := wkafka.NewPublisher(wkafka.PublisherConfig{
		Brokers:               cfg.Brokers,
		Marshaler:             marshaler{partitions: cfg.Partitions},
		OverwriteSaramaConfig: cfg.producerConfig(),
	}, watermillLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("kafka publisher: %w", err)
	}
	return &EventLog{cfg: cfg, pub: pub, slots: make(chan struct{}, cfg.MaxInFlight)}, nil
}

// Append implements commands.EventLog: it returns once every in-sync
// replica has the event, with the event's partition and offset.
//
// It honours ctx: with ctx already ended it publishes nothing; when ctx
// ends while it waits for a slot or for the acknowledgement, it returns
// ctx.Err() (wrapped) at once. In the second case the outcome is unknown:
// the publish goes on in the background and may still land, within the
// producer's retries and WriteTimeout.
func (l *EventLog) Append(ctx context.Context, ev domain.Event) (domain.Position, error) {
	if err := ctx.Err(); err != nil {
		return domain.Position{}, fmt.Errorf("append %s: %w", ev.Type(), err)
	}
	payload, err := domain.MarshalEvent(ev)
	if err != nil {
		return domain.Position{}, err
	}
	msg := message.NewMessage(string(ev.Message())+"/"+ev.Type(), payload)
	msg.Metadata.Set(metaKey, string(ev.Key()))
	msg.Metadata.Set(metaType, ev.Type())
	s := &sink{}
	// The publish outlives a caller that gives up: it must not see ctx end.
	msg.SetContext(context.WithValue(context.WithoutCancel(ctx), sinkKey{}, s))

	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return domain.Position{}, fmt.Errorf("append %s: %d appends in flight: %w: %w", ev.Type(), cap(l.slots), domain.ErrUnavailable, ctx.Err())
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		<-l.slots
		return domain.Position{}, ErrClosed
	}
	l.inflight.Add(1)
	l.mu.RUnlock()

	done := make(chan error, 1)
	go func() {
		defer l.inflight.Done()
		defer func() { <-l.slots }()
		done <- l.pub.Publish(l.cfg.Topic, msg)
	}()
	select {
	case err := <-done:
		if err != nil {
			// The producer has retried; the broker is away or refuses:
			// the client may retry (a send with its client_msg_id stays one).
			return domain.Position{}, fmt.Errorf("append %s: %w: %w", ev.Type(), domain.ErrUnavailable, err)
		}
	case <-ctx.Done():
		return domain.Position{}, fmt.Errorf("append %s: outcome unknown: %w: %w", ev.Type(), domain.ErrUnavailable, ctx.Err())
	}
	if s.pm == nil {
		return domain.Position{}, fmt.Errorf("append %s: no produce result", ev.Type())
	}
	return domain.Position{Partition: s.pm.Partition, Offset: s.pm.Offset}, nil
}

// Close waits for the publishes in flight (each ends within the producer's
// retries and WriteTimeout), then flushes and closes the publisher. Appends
// after Close return ErrClosed.
func (l *EventLog) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.inflight.Wait()
	return l.pub.Close()
}

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
