package kafka

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// EnsureTopic creates the topic with the configured partitions and
// replication unless it exists. An existing topic is left as it is.
func EnsureTopic(cfg Config) error {
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, cfg.saramaConfig())
	if err != nil {
		return fmt.Errorf("connect to kafka %v: %w", cfg.Brokers, err)
	}
	defer admin.Close()
	err = admin.CreateTopic(cfg.Topic, &sarama.TopicDetail{
		NumPartitions:     cfg.Partitions,
		ReplicationFactor: cfg.ReplicationFactor,
		ConfigEntries: map[string]*string{
			// Events are the source of truth: keep them for ever.
			"retention.ms": ptr("-1"),
			// With RF 3 and acks=all, a write needs two live replicas.
			"min.insync.replicas": ptr(fmt.Sprint(min(2, int(cfg.ReplicationFactor)))),
		},
	}, false)
	var te *sarama.TopicError
	if errors.As(err, &te) && te.Err == sarama.ErrTopicAlreadyExists {
		return checkPartitions(admin, cfg)
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", cfg.Topic, err)
	}
	return nil
}

func ptr(s string) *string { return &s }

// checkPartitions fails when an existing topic's partition count differs
// from the configured one: events are placed by domain.PartitionOf, which
// depends on it.
func checkPartitions(admin sarama.ClusterAdmin, cfg Config) error {
	md, err := admin.DescribeTopics([]string{cfg.Topic})
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", cfg.Topic, err)
	}
	if len(md) != 1 || md[0].Err != sarama.ErrNoError {
		return fmt.Errorf("describe topic %s: %v", cfg.Topic, md)
	}
	if n := int32(len(md[0].Partitions)); n != cfg.Partitions {
		return fmt.Errorf("topic %s has %d partitions but %d are configured: set --kafka-partitions %d", cfg.Topic, n, cfg.Partitions, n)
	}
	return nil
}

// Offsets returns the oldest and the next offset of every partition.
func Offsets(cfg Config) (oldest, next map[int32]int64, err error) {
	client, err := sarama.NewClient(cfg.Brokers, cfg.saramaConfig())
	if err != nil {
		return nil, nil, fmt.Errorf("connect to kafka %v: %w", cfg.Brokers, err)
	}
	defer client.Close()
	parts, err := client.Partitions(cfg.Topic)
	if err != nil {
		return nil, nil, fmt.Errorf("partitions of %s: %w", cfg.Topic, err)
	}
	oldest, next = map[int32]int64{}, map[int32]int64{}
	for _, p := range parts {
		if oldest[p], err = client.GetOffset(cfg.Topic, p, sarama.OffsetOldest); err != nil {
			return nil, nil, fmt.Errorf("oldest offset of %s/%d: %w", cfg.Topic, p, err)
		}
		if next[p], err = client.GetOffset(cfg.Topic, p, sarama.OffsetNewest); err != nil {
			return nil, nil, fmt.Errorf("newest offset of %s/%d: %w", cfg.Topic, p, err)
		}
	}
	return oldest, next, nil
}

// Ping reports whether the brokers answer a metadata request for the topic.
func Ping(cfg Config) error {
	client, err := sarama.NewClient(cfg.Brokers, cfg.saramaConfig())
	if err != nil {
		return err
	}
	defer client.Close()
	_, err = client.Partitions(cfg.Topic)
	return err
}

// Watermarks reads the next offset of partitions (the offset the next
// appended event will get). It keeps one connection; safe for concurrent
// use.
type Watermarks struct {
	topic  string
	client sarama.Client
}

// NewWatermarks connects a client for cfg's topic.
func NewWatermarks(cfg Config) (*Watermarks, error) {
	client, err := sarama.NewClient(cfg.Brokers, cfg.saramaConfig())
	if err != nil {
		return nil, fmt.Errorf("connect to kafka %v: %w", cfg.Brokers, err)
	}
	return &Watermarks{topic: cfg.Topic, client: client}, nil
}

// Next returns the offset the next event appended to partition will get.
func (w *Watermarks) Next(partition int32) (int64, error) {
	off, err := w.client.GetOffset(w.topic, partition, sarama.OffsetNewest)
	if err != nil {
		return 0, fmt.Errorf("newest offset of %s/%d: %w", w.topic, partition, err)
	}
	return off, nil
}

// Close closes the connection.
func (w *Watermarks) Close() error { return w.client.Close() }
