// Package embedded runs tidings with no external service: the event log
// (EventLog: a Pebble database of its own, group-committed appends, an
// in-memory tail of decoded records for the pipeline) and one Pebble
// database (DB) holding the views, the accounts, the send log and the
// shard catalog. It serves a single process: two processes cannot share
// one data directory (Pebble takes a lock on each database). It opens no
// network listener. Broker (franz-go's kfake) is a Kafka-protocol broker
// for tests of the Kafka adapter only; the product does not use it.
package embedded
