package kafka_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tidings-chat/tidings/adapters/kafka"
	"github.com/tidings-chat/tidings/domain"
)

// The tests of this package need a real Kafka, named by
// TIDINGS_KAFKA_BROKERS; scripts/services.sh starts one:
//
//	bash scripts/services.sh up kafka
//	eval "$(bash scripts/services.sh env)"
//	go test -race -count=1 ./adapters/kafka/
//
// Without it they are skipped, or fail when TIDINGS_REQUIRE_SERVICES=1
// (CI). Each test uses topics of its own ("kstream-<id>"), deleted when it
// ends.
const brokersEnv = "TIDINGS_KAFKA_BROKERS"

// brokers returns the test brokers or skips t.
func brokers(t testing.TB) []string {
	t.Helper()
	b := os.Getenv(brokersEnv)
	if b == "" {
		const why = brokersEnv + " is not set: no Kafka to test against " +
			"(bash scripts/services.sh up kafka; eval \"$(bash scripts/services.sh env)\")"
		if os.Getenv("TIDINGS_REQUIRE_SERVICES") == "1" {
			t.Fatal(why + ", and TIDINGS_REQUIRE_SERVICES=1 requires it")
		}
		t.Skip(why)
	}
	return strings.Split(b, ",")
}

// newTopic creates a topic of its own for t and returns its configuration
// with the defaults set. The topic is deleted when t ends.
func newTopic(t testing.TB, partitions int32) kafka.Config {
	t.Helper()
	cfg := kafka.Config{Brokers: brokers(t), Topic: "kstream-" + string(domain.NewID(time.Now())), Partitions: partitions}
	cfg.SetDefaults()
	if err := kafka.EnsureTopic(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := sarama.NewClusterAdmin(cfg.Brokers, sarama.NewConfig())
		if err != nil {
			t.Logf("delete topic %s: %v", cfg.Topic, err)
			return
		}
		defer admin.Close()
		if err := admin.DeleteTopic(cfg.Topic); err != nil {
			t.Logf("delete topic %s: %v", cfg.Topic, err)
		}
	})
	return cfg
}

// openLog opens both ports of the log on cfg's topic, closed when t ends.
func openLog(t testing.TB, cfg kafka.Config) (*kafka.EventLog, *kafka.Stream) {
	t.Helper()
	log, err := kafka.NewEventLog(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	stream, err := kafka.NewStream(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stream.Close() })
	return log, stream
}

// userOn returns a new user whose events go to partition p of n.
func userOn(p, n int32) domain.UserID {
	for {
		u := domain.UserID(domain.NewID(time.Now()))
		if domain.PartitionOf(u, n) == p {
			return u
		}
	}
}

// appendTo appends count messages to user to and returns their positions.
func appendTo(t testing.TB, log *kafka.EventLog, to domain.UserID, count int) []domain.Position {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	from := domain.UserID(domain.NewID(time.Now()))
	var out []domain.Position
	for range count {
		now := time.Now().UTC().Truncate(time.Millisecond)
		pos, err := log.Append(ctx, domain.MessageSent{ID: domain.MessageID(domain.NewID(now)), From: from, To: to, Text: "k", SentAt: now})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pos)
	}
	return out
}
