// Package projections builds and serves the read models. A Projector
// consumes the event log and applies each event to a Store, which keeps one
// set of rows per user (so a user's rows can live on that user's shard):
//
//   - message by id, one copy for each of its two parties;
//   - the unread inbox of each recipient, oldest first;
//   - the history of each conversation, kept by both parties;
//   - the conversation list of each user: peer, last message, unread count;
//   - the status of each message (sent, delivered, read), seen by both.
//
// Every Apply is idempotent and statuses never move backwards, so
// at-least-once consumption yields exact views, and replaying the whole log
// over existing views changes nothing. Queries read views only; views are
// eventually consistent with the log, and Tracker lets a reader wait for a
// given event position to be applied (read-your-writes).
package projections
