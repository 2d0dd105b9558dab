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
