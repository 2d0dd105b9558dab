package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// Defaults.
const (
	DefaultTopic       = "tidings.messages.v1"
	DefaultPartitions  = 16
	DefaultVersion     = "3.6.0"
	DefaultMaxInFlight = 4096
	DefaultMaxBatch    = 512
	DefaultCompression = "none"
	// DefaultLinger and DefaultCompression are what BenchmarkAppend found
	// best (doc.go): a 1 ms linger costs the client and the broker less CPU
	// per append than none, and lz4 saves nothing on these small events.
	DefaultLinger = time.Millisecond
	// NoLinger as Config.Linger sends every append at once.
	NoLinger time.Duration = -1
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
	// WriteTimeout is how long the brokers may take to acknowledge one
	// produce request (Sarama's Producer.Timeout).
	WriteTimeout time.Duration
	// MaxInFlight bounds the appends waiting for their acknowledgement at
	// once, and so the goroutines and memory appends hold while the brokers
	// are slow or down. An Append beyond it waits for a slot until its ctx
	// ends.
	MaxInFlight int
	// Linger is how long the producer gathers appends before it sends them
	// (Sarama's Producer.Flush.Frequency); NoLinger sends at once. Appends
	// that arrive while a produce request is in flight are gathered into
	// the next one either way.
	Linger time.Duration
	// Compression of produced batches: none, lz4, snappy, zstd or gzip.
	Compression string
	// MaxBatch bounds the records of one projections.Batch.
	MaxBatch int
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
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.Compression == "" {
		c.Compression = DefaultCompression
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
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
	if c.WriteTimeout <= 0 {
		errs = append(errs, fmt.Errorf("kafka: write timeout %v <= 0", c.WriteTimeout))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, fmt.Errorf("kafka: max in flight %d < 1", c.MaxInFlight))
	}
	if c.Linger < 0 && c.Linger != NoLinger {
		errs = append(errs, fmt.Errorf("kafka: linger %v < 0 (NoLinger is -1ns)", c.Linger))
	}
	if _, err := codec(c.Compression); err != nil {
		errs = append(errs, err)
	}
	if c.MaxBatch < 1 {
		errs = append(errs, fmt.Errorf("kafka: max batch %d < 1", c.MaxBatch))
	}
	return errors.Join(errs...)
}

func codec(name string) (sarama.CompressionCodec, error) {
	var cc sarama.CompressionCodec
	if err := cc.UnmarshalText([]byte(name)); err != nil {
		return 0, fmt.Errorf("kafka: compression %q: want none, lz4, snappy, zstd or gzip", name)
	}
	return cc, nil
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
//
// Sarama's idempotent producer requires Net.MaxOpenRequests = 1 (its
// Config.Validate rejects more), so each broker connection has one produce
// request in flight. Throughput comes from batching instead: appends that
// arrive while a request is in flight (or within Linger) go out together in
// the next one, so the records per request grow with the load.
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
	sc.Producer.Flush.Frequency = max(0, c.Linger)
	sc.Producer.Compression, _ = codec(c.Compression) // checked by Validate
	// Enough room for MaxInFlight appends between the callers and the
	// broker producers without blocking the callers' goroutines.
	sc.ChannelBufferSize = c.MaxInFlight
	return sc
}

// consumerConfig starts new groups at the oldest offset and buffers up to
// a batch of records per partition.
func (c Config) consumerConfig() *sarama.Config {
	sc := c.saramaConfig()
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	sc.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	sc.ChannelBufferSize = c.MaxBatch
	return sc
}
