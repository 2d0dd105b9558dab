package kafka_test

import (
	"testing"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/projections"
)

// TestEventLogContract runs the event-log contract against a real Kafka,
// each case on a topic of its own.
func TestEventLogContract(t *testing.T) {
	brokers(t)
	t.Parallel()
	contract.TestEventLog(t, func(t *testing.T, partitions int32) (commands.EventLog, projections.Stream) {
		return openLog(t, newTopic(t, partitions))
	})
}
