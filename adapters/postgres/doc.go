// Package postgres keeps tidings' relational state in PostgreSQL through one
// pgx connection pool: the accounts (users and token hashes), the send log
// (client_msg_id reservations) and the shard-metadata catalog (virtual
// shards and their placements).
//
// The schema comes from versioned SQL files embedded in the binary
// (migrations/NNNN_name.sql), applied by DB.Migrate in order, each in its own
// transaction, and recorded in schema_migrations. Every table is created in
// the first schema of the connection's search_path, so one database can hold
// several independent stores (tests use a schema each).
//
// All types are safe for concurrent use; many processes may share one
// database.
package postgres
