// Package embedded runs tidings with no external service: an in-process
// Kafka-protocol broker (kfake) persisting the event log under the data
// directory, and one Pebble database holding the views, the accounts and
// the send log. It serves a single process: two processes cannot share one
// data directory (Pebble takes a lock on it).
package embedded
