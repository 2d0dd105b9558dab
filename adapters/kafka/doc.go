// Package kafka is the event log on Kafka, through Watermill's Kafka
// publisher and subscriber (Sarama underneath). The same code talks to a
// real Kafka cluster and to the embedded in-process broker.
//
// Topic and key: every event goes to one topic (Config.Topic) keyed by the
// message's recipient. Kafka keeps order per partition, so all events of an
// inbox, and all events of one message (sent, delivered, read), reach the
// projector in the order they were appended.
package kafka
