package kafka_test

import (
	"os"
	"strings"
	"testing"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/adapters/embedded"
)

func TestEventLogEmbedded(t *testing.T) {
	t.Parallel()
	contract.TestEventLog(t, func(t *testing.T) []string {
		b, err := embedded.StartBroker(t.TempDir(), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		return b.Addrs()
	})
}

// TestEventLogKafka runs the same contract against a real Kafka named by
// TIDINGS_KAFKA_BROKERS (scripts/services.sh up kafka).
func TestEventLogKafka(t *testing.T) {
	brokers := os.Getenv("TIDINGS_KAFKA_BROKERS")
	if brokers == "" {
		if os.Getenv("TIDINGS_REQUIRE_SERVICES") == "1" {
			t.Fatal("TIDINGS_KAFKA_BROKERS is not set but TIDINGS_REQUIRE_SERVICES=1")
		}
		t.Skip("TIDINGS_KAFKA_BROKERS not set; run scripts/services.sh up kafka")
	}
	t.Parallel()
	contract.TestEventLog(t, func(*testing.T) []string { return strings.Split(brokers, ",") })
}
