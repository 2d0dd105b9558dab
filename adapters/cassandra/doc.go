// Package cassandra holds the views (projections.Store) on Apache Cassandra
// 5 with the gocql driver. Migrate creates the keyspace and tables from the
// versioned CQL files under migrations/; Open connects to a migrated
// keyspace; Views answers projections.Reader and applies events.
//
// The tables are designed from the queries: each Reader method reads one
// table (plus a small index of month buckets), and every table has one of
// two partition keys: (user_id) for a user's small state (conversations,
// months with unread messages, feed) or (user_id, bucket) for a user's
// rows that grow with the history, one month (yyyymm) per partition
// (messages, history, unread). Tables keyed alike share the token of a key
// value, so Views.ApplyBatch writes all of a user's rows under one key as
// one unlogged batch, which the replicas apply as one mutation: a message
// costs two partition keys per party. The month of a message is derived
// from its send time, and for lookups by ID from the ID's time prefix
// (domain.NewID makes ULID-style IDs), so no write has to read first.
//
// Writes converge without coordination: each statement carries a write
// timestamp computed from the event (the send time for the message and the
// conversation's last message, one microsecond more for what a read
// removes, and "earlier is higher" for delivery and read times), so an
// event applied twice, late, or interleaved with other partitions in any
// order leaves the same rows. Unread counts are sets of message IDs, not
// counters, for the same reason; applied positions use the offset as the
// timestamp, so the highest offset wins. No statement uses lightweight
// transactions or counters, and message text is never logged.
//
// Views are eventually consistent across tables: an Apply writes several
// partitions (the months' before the users' own, so a conversation or feed
// item never names a missing message) and a reader may see one before
// another. At LOCAL_QUORUM (the
// default) a read sees every write acknowledged in its data center.
package cassandra
