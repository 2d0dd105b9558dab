package kafka_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tidings-chat/tidings/adapters/kafka"
	"github.com/tidings-chat/tidings/domain"
)

// failingBroker is a one-node Kafka stand-in (Sarama's MockBroker) that
// knows topic and answers every produce request with a retriable error:
// each publish fails only after the producer's retries, about a second.
func failingBroker(t *testing.T, topic string) *sarama.MockBroker {
	t.Helper()
	mb := sarama.NewMockBroker(t, 1)
	t.Cleanup(mb.Close)
	mb.SetHandlerByMap(map[string]sarama.MockResponse{
		"ApiVersionsRequest": sarama.NewMockApiVersionsResponse(t).SetApiKeys([]sarama.ApiVersionsResponseKey{
			{ApiKey: 0, MinVersion: 3, MaxVersion: 9},  // Produce
			{ApiKey: 3, MinVersion: 1, MaxVersion: 10}, // Metadata
			{ApiKey: 18, MinVersion: 0, MaxVersion: 3}, // ApiVersions
			{ApiKey: 22, MinVersion: 0, MaxVersion: 4}, // InitProducerId
		}),
		"MetadataRequest": sarama.NewMockMetadataResponse(t).
			SetBroker(mb.Addr(), mb.BrokerID()).
			SetLeader(topic, 0, mb.BrokerID()),
		"InitProducerIDRequest": sarama.NewMockInitProducerIDResponse(t).SetProducerID(1),
		"ProduceRequest":        sarama.NewMockProduceResponse(t).SetError(topic, 0, sarama.ErrNotEnoughReplicas),
	})
	return mb
}

func sent() domain.MessageSent {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return domain.MessageSent{ID: domain.MessageID(domain.NewID(now)), From: "a", To: "b", Text: "x", SentAt: now}
}

// TestAppendHonoursCtxWhileTheBrokerFails: with every publish failing
// slowly, an Append whose ctx ends returns at once, and one that finds
// every slot taken starts no publish (so goroutines stay bounded).
func TestAppendHonoursCtxWhileTheBrokerFails(t *testing.T) {
	t.Parallel()
	const topic, slots = "kstream-mock", 4
	mb := failingBroker(t, topic)
	log, err := kafka.NewEventLog(kafka.Config{Brokers: []string{mb.Addr()}, Topic: topic, Partitions: 1, MaxInFlight: slots}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })

	t.Run("CancelledBeforehand", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		began := time.Now()
		if _, err := log.Append(ctx, sent()); !errors.Is(err, context.Canceled) {
			t.Fatalf("Append = %v, want context.Canceled", err)
		}
		if d := time.Since(began); d > 100*time.Millisecond {
			t.Fatalf("Append with a cancelled ctx took %v", d)
		}
	})

	t.Run("EndsWhilePublishing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		began := time.Now()
		_, err := log.Append(ctx, sent())
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "outcome unknown") {
			t.Fatalf("Append = %v, want an unknown outcome and context.DeadlineExceeded", err)
		}
		if d := time.Since(began); d > 500*time.Millisecond {
			t.Fatalf("Append returned %v after its ctx ended", d-50*time.Millisecond)
		}
	})

	t.Run("EveryPublishSlotTaken", func(t *testing.T) {
		// Each publish holds its slot for about a second, so of callers
		// that all give up after 50ms at most `slots` start one; the others
		// must be refused without publishing.
		const callers = 100
		errs := make([]error, callers)
		began := time.Now()
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				_, errs[i] = log.Append(ctx, sent())
			})
		}
		wg.Wait()
		if d := time.Since(began); d > time.Second {
			t.Fatalf("%d appends with a 50ms ctx took %v", callers, d)
		}
		published := 0
		for i, err := range errs {
			switch {
			case !errors.Is(err, context.DeadlineExceeded):
				t.Fatalf("append %d = %v, want context.DeadlineExceeded", i, err)
			case strings.Contains(err.Error(), "outcome unknown"):
				published++
			case !strings.Contains(err.Error(), "appends in flight"):
				t.Fatalf("append %d = %v, want it refused for want of a slot", i, err)
			}
		}
		if published > slots {
			t.Fatalf("%d of %d appends started a publish at once, want at most %d", published, callers, slots)
		}
	})

	t.Run("FailsWithTheBrokersError", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := log.Append(ctx, sent())
		if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), sarama.ErrNotEnoughReplicas.Error()) {
			t.Fatalf("Append against a failing broker = %v, want the broker's error", err)
		}
		// Clients are told to retry (503 with Retry-After), not 500.
		if de, _ := domain.ClientError(err); !errors.Is(err, domain.ErrUnavailable) || de.Code != domain.CodeUnavailable || de.RetryAfter <= 0 {
			t.Fatalf("Append against a failing broker = %v, client told %+v; want unavailable with a retry time", err, de)
		}
	})
}

// TestAppendLandsInItsPartition: a live append returns the position Kafka
// gave it.
func TestAppendLandsInItsPartition(t *testing.T) {
	t.Parallel()
	cfg := newTopic(t, 4)
	log, s := openLog(t, cfg)
	to := userOn(3, 4)
	pos := appendTo(t, log, to, 3)
	for i, p := range pos {
		if want := (domain.Position{Partition: 3, Offset: int64(i)}); p != want {
			t.Fatalf("append %d at %s, want %s", i, p, want)
		}
	}
	_, next, err := s.Bounds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if next[3] != 3 {
		t.Fatalf("partition 3 ends at %d after 3 appends", next[3])
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := log.Append(context.Background(), sent()); !errors.Is(err, kafka.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
}
