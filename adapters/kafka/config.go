package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// Defaults.
const (
	DefaultTopic      = "tidings.messages.v1"
	DefaultPartitions = 16
	DefaultVersion    = "3.6.0"
)

// Config says where the event log lives and how to talk to it.
type Config struct {
	// Brokers are host:port bootstrap addresses.
	Brokers []string
	// Topic holds every message event.
	Topic string
	// Partitions and ReplicationFactor are used when the topic is created.
	Partitions        int32
	ReplicationFactor int16
	// Version is the Kafka protocol version Sarama speaks (Kafka 4 dropped
	// versions before 2.1).
	Version string
	// ClientID names this process to the brokers.
	ClientID string
	// Workers bounds how many partitions a consumer processes at once.
	Workers int
	// WriteTimeout bounds one append.
	WriteTimeout time.Duration
}

// SetDefaults fills the zero fields.
func (c *Config) SetDefaults() {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = 1
	}
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if c.ClientID == "" {
		c.ClientID = "tidings"
	}
	if c.Workers == 0 {
		c.Workers = int(c.Partitions)
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka: no brokers"))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("kafka: empty topic"))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("kafka: partitions %d < 1", c.Partitions))
	}
	if c.ReplicationFactor < 1 {
		errs = append(errs, fmt.Errorf("kafka: replication factor %d < 1", c.ReplicationFactor))
	}
	if v, err := sarama.ParseKafkaVersion(c.Version); err != nil {
		errs = append(errs, fmt.Errorf("kafka: version: %w", err))
	} else if !v.IsAtLeast(sarama.V2_1_0_0) {
		errs = append(errs, fmt.Errorf("kafka: version %s is older than 2.1, which Kafka 4 no longer speaks", c.Version))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("kafka: workers %d < 1", c.Workers))
	}
	return errors.Join(errs...)
}

// saramaConfig is the base Sarama configuration for every client.
func (c Config) saramaConfig() *sarama.Config {
	sc := sarama.NewConfig()
	sc.Version, _ = sarama.ParseKafkaVersion(c.Version) // checked by Validate
	sc.ClientID = c.ClientID
	sc.Metadata.Retry.Max = 10
	sc.Metadata.Retry.Backoff = 200 * time.Millisecond
	return sc
}

// producerConfig makes appends durable and never duplicated by retries:
// idempotent producer, acknowledged by all in-sync replicas.
func (c Config) producerConfig() *sarama.Config {
	sc := c.saramaConfig()
	sc.Producer.Idempotent = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Retry.Max = 10
	sc.Producer.Retry.Backoff = 100 * time.Millisecond
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Timeout = c.WriteTimeout
	sc.Producer.Partitioner = sarama.NewManualPartitioner // see marshaler
	sc.Producer.Flush.Frequency = time.Millisecond
	return sc
}

// consumerConfig starts new groups at the oldest offset.
func (c Config) consumerConfig() *sarama.Config {
	sc := c.saramaConfig()
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	sc.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	return sc
}
