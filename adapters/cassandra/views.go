package cassandra

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gocql/gocql"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

var _ projections.Store = (*Views)(nil)

// Views implements projections.Store on Cassandra; the tables are described
// in migrations/0001_views.cql. Every Apply writes only rows it can address
// from the event itself, never reading first, with timestamps taken from
// the event (see tsSent), so applying an event twice, late, or interleaved
// with other partitions in any order leaves the same views. An Apply is not
// atomic: a failed one has written some rows and must be applied again
// (the projector does so), and readers may briefly see a message in one
// view before another. Safe for concurrent use.
type Views struct {
	session *gocql.Session
	group   string // consumer group whose positions are recorded
}

// Open connects to the keyspace of cfg, which Migrate must have brought up
// to date: Open fails when it lacks a migration this binary knows. It does
// not change the schema.
func Open(ctx context.Context, cfg Config) (*Views, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s, err := newSession(cfg, cfg.Keyspace)
	if err != nil {
		return nil, err
	}
	v := &Views{session: s, group: projections.ViewsGroup}
	if err := v.checkSchema(ctx, cfg.Keyspace); err != nil {
		s.Close()
		return nil, err
	}
	return v, nil
}

// checkSchema fails unless every embedded migration is recorded as applied.
func (v *Views) checkSchema(ctx context.Context, keyspace string) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	have := map[int]bool{}
	iter := v.session.Query(selectMigrations).WithContext(ctx).Iter()
	var (
		version        int
		name, checksum string
	)
	for iter.Scan(&version, &name, &checksum) {
		have[version] = true
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("read %s.schema_migrations (has Migrate run?): %w", keyspace, err)
	}
	for _, m := range ms {
		if !have[m.version] {
			return fmt.Errorf("keyspace %s lacks migration %s: run Migrate", keyspace, m.name)
		}
	}
	return nil
}

// Close closes every connection. The Views must not be used afterwards.
func (v *Views) Close() { v.session.Close() }

// Ping reports whether a node answers a query (for readiness checks).
func (v *Views) Ping(ctx context.Context) error {
	var version string
	if err := v.session.Query(`SELECT release_version FROM system.local`).WithContext(ctx).Scan(&version); err != nil {
		return fmt.Errorf("ping cassandra: %w", err)
	}
	return nil
}

// Statements are constants so the driver prepares each once.
const (
	insertMessage = `INSERT INTO messages (user_id, bucket, message_id, from_user, to_user, body, client_msg_id, sent_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`
	insertHistory = `INSERT INTO history (user_id, peer_id, bucket, sent_at, message_id, from_user, to_user, body, client_msg_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`
	insertHistoryBucket = `INSERT INTO history_buckets (user_id, peer_id, bucket) VALUES (?, ?, ?) USING TIMESTAMP ?`
	insertUnread        = `INSERT INTO unread (user_id, bucket, sent_at, message_id, from_user, to_user, body, client_msg_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`
	addPending      = `UPDATE unread_buckets USING TIMESTAMP ? SET pending[?] = ? WHERE user_id = ? AND bucket = ?`
	updateConvSent  = `UPDATE conversations USING TIMESTAMP ? SET last_at = ?, last_id = ? WHERE user_id = ? AND peer_id = ?`
	updateConvRecvd = `UPDATE conversations USING TIMESTAMP ? SET last_at = ?, last_id = ?, unread = unread + ?
WHERE user_id = ? AND peer_id = ?`

	setMessageDelivered = `UPDATE messages USING TIMESTAMP ? SET delivered_at = ? WHERE user_id = ? AND bucket = ? AND message_id = ?`
	setHistoryDelivered = `UPDATE history USING TIMESTAMP ? SET delivered_at = ?
WHERE user_id = ? AND peer_id = ? AND bucket = ? AND sent_at = ? AND message_id = ?`
	setUnreadDelivered = `UPDATE unread USING TIMESTAMP ? SET delivered_at = ?
WHERE user_id = ? AND bucket = ? AND sent_at = ? AND message_id = ?`
	setMessageRead = `UPDATE messages USING TIMESTAMP ? SET read_at = ? WHERE user_id = ? AND bucket = ? AND message_id = ?`
	setHistoryRead = `UPDATE history USING TIMESTAMP ? SET read_at = ?
WHERE user_id = ? AND peer_id = ? AND bucket = ? AND sent_at = ? AND message_id = ?`
	deleteUnread     = `DELETE FROM unread USING TIMESTAMP ? WHERE user_id = ? AND bucket = ? AND sent_at = ? AND message_id = ?`
	removePending    = `DELETE pending[?] FROM unread_buckets USING TIMESTAMP ? WHERE user_id = ? AND bucket = ?`
	removeConvUnread = `UPDATE conversations USING TIMESTAMP ? SET unread = unread - ? WHERE user_id = ? AND peer_id = ?`

	upsertPosition = `UPDATE projector_positions USING TIMESTAMP ? SET offset = ? WHERE group_name = ? AND partition = ?`
	selectPosition = `SELECT partition, offset FROM projector_positions WHERE group_name = ?`
)

// viewTables are the tables Reset empties.
var viewTables = []string{"messages", "history", "history_buckets", "unread", "unread_buckets", "conversations", "feed", "projector_positions"}

// stmt is one statement of an Apply, named for error messages.
type stmt struct {
	what string
	cql  string
	args []any
}

// exec runs stmts concurrently and joins their errors. Every statement is
// idempotent, so the driver may retry any of them.
func (v *Views) exec(ctx context.Context, stmts ...stmt) error {
	errs := make([]error, len(stmts))
	var wg sync.WaitGroup
	for i, s := range stmts {
		wg.Go(func() {
			if err := v.session.Query(s.cql, s.args...).WithContext(ctx).Idempotent(true).Exec(); err != nil {
				errs[i] = fmt.Errorf("%s: %w", s.what, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// buckets returns the month of a message's messages rows (from its ID)
// and of its history and unread rows (from its send time), which every
// event of the message carries.
func buckets(id domain.MessageID, sentAt time.Time) (idb, b int, err error) {
	if idb, err = idBucket(id); err != nil {
		return 0, 0, err
	}
	if sentAt.IsZero() {
		return 0, 0, fmt.Errorf("message %s: the event has no send time, so its rows cannot be addressed", id)
	}
	return idb, bucketOf(sentAt), nil
}

// Flush implements projections.Store. Every write returned once the
// consistency level's replicas took it; its durability is that of their
// commit logs, so there is nothing more to do.
func (v *Views) Flush(context.Context) error { return nil }

// RecordPosition implements projections.Store: the highest offset wins
// (it is the write timestamp).
func (v *Views) RecordPosition(ctx context.Context, pos domain.Position) error {
	return v.exec(ctx, stmt{"record position " + pos.String(), upsertPosition,
		[]any{pos.Offset, pos.Offset, v.group, pos.Partition}})
}

// ApplySent implements projections.Store. It writes user's message,
// history and (for the recipient) unread rows and feed item first, then
// user's conversation row, so a conversation never names a message that
// cannot be loaded.
func (v *Views) ApplySent(ctx context.Context, e domain.MessageSent, u domain.UserID, pos domain.Position) error {
	idb, b, err := buckets(e.ID, e.SentAt)
	if err != nil {
		return fmt.Errorf("apply sent: %w", err)
	}
	ts := tsSent(e.SentAt)
	peer := peerOf(e.From, e.To, u)
	first := []stmt{
		{"write message", insertMessage, []any{u, idb, e.ID, e.From, e.To, e.Text, e.ClientMsgID, e.SentAt, ts}},
		{"write history", insertHistory, []any{u, peer, b, e.SentAt, e.ID, e.From, e.To, e.Text, e.ClientMsgID, ts}},
		{"write history bucket", insertHistoryBucket, []any{u, peer, b, ts}},
	}
	conv := stmt{"write sender's conversation", updateConvSent, []any{ts, e.SentAt, e.ID, e.From, e.To}}
	if u == e.To {
		first = append(first,
			stmt{"write unread", insertUnread, []any{e.To, b, e.SentAt, e.ID, e.From, e.To, e.Text, e.ClientMsgID, ts}},
			stmt{"write unread bucket", addPending, []any{ts, e.ID, e.SentAt, e.To, b}})
		if f, ok := feedStmt(e, pos); ok {
			first = append(first, f)
		}
		conv = stmt{"write recipient's conversation", updateConvRecvd, []any{ts, e.SentAt, e.ID, []string{string(e.ID)}, e.To, e.From}}
	}
	if err := v.exec(ctx, first...); err != nil {
		return fmt.Errorf("apply sent %s: %w", e.ID, err)
	}
	if err := v.exec(ctx, conv); err != nil {
		return fmt.Errorf("apply sent %s: %w", e.ID, err)
	}
	return nil
}

// peerOf returns the other party of a message from → to, seen by u.
func peerOf(from, to, u domain.UserID) domain.UserID {
	if u == from {
		return to
	}
	return from
}

// ApplyDelivered implements projections.Store. The earliest delivery time
// wins (tsFirst); the status becomes delivered unless the message is read.
func (v *Views) ApplyDelivered(ctx context.Context, e domain.MessageDelivered, u domain.UserID, _ domain.Position) error {
	idb, b, err := buckets(e.ID, e.SentAt)
	if err != nil {
		return fmt.Errorf("apply delivered: %w", err)
	}
	ts := tsFirst(e.SentAt, e.DeliveredAt)
	peer := peerOf(e.From, e.To, u)
	stmts := []stmt{
		{"set delivered_at", setMessageDelivered, []any{ts, e.DeliveredAt, u, idb, e.ID}},
		{"set history delivered_at", setHistoryDelivered, []any{ts, e.DeliveredAt, u, peer, b, e.SentAt, e.ID}},
	}
	if u == e.To {
		// Shadowed by the unread row's deletion if the message is read.
		stmts = append(stmts, stmt{"set unread delivered_at", setUnreadDelivered, []any{ts, e.DeliveredAt, e.To, b, e.SentAt, e.ID}})
	}
	if err := v.exec(ctx, stmts...); err != nil {
		return fmt.Errorf("apply delivered %s: %w", e.ID, err)
	}
	return nil
}

// ApplyRead implements projections.Store. The earliest read time wins; for
// the recipient the message leaves the unread inbox and count for good (the
// deletions carry tsRead, which a redelivered MessageSent cannot beat).
func (v *Views) ApplyRead(ctx context.Context, e domain.MessageRead, u domain.UserID, pos domain.Position) error {
	idb, b, err := buckets(e.ID, e.SentAt)
	if err != nil {
		return fmt.Errorf("apply read: %w", err)
	}
	ts, del := tsFirst(e.SentAt, e.ReadAt), tsRead(e.SentAt)
	peer := peerOf(e.From, e.To, u)
	stmts := []stmt{
		{"set read_at", setMessageRead, []any{ts, e.ReadAt, u, idb, e.ID}},
		{"set history read_at", setHistoryRead, []any{ts, e.ReadAt, u, peer, b, e.SentAt, e.ID}},
	}
	if u == e.To {
		stmts = append(stmts,
			stmt{"delete unread", deleteUnread, []any{del, e.To, b, e.SentAt, e.ID}},
			stmt{"delete from unread bucket", removePending, []any{e.ID, del, e.To, b}},
			stmt{"delete from conversation's unread", removeConvUnread, []any{del, []string{string(e.ID)}, e.To, e.From}})
		if f, ok := feedStmt(e, pos); ok {
			stmts = append(stmts, f)
		}
	}
	if err := v.exec(ctx, stmts...); err != nil {
		return fmt.Errorf("apply read %s: %w", e.ID, err)
	}
	return nil
}

// AppliedPositions implements projections.Store.
func (v *Views) AppliedPositions(ctx context.Context) (map[int32]int64, error) {
	out := map[int32]int64{}
	iter := v.session.Query(selectPosition, v.group).WithContext(ctx).Iter()
	var (
		part   int32
		offset int64
	)
	for iter.Scan(&part, &offset) {
		out[part] = offset
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("read applied positions: %w", err)
	}
	return out, nil
}

// Reset implements projections.Store with TRUNCATE, which (unlike DELETE)
// leaves no tombstones behind: replayed events, whose write timestamps are
// those of the first projection, are written again in full. TRUNCATE needs
// every node up, and snapshots the tables first when the cluster has
// auto_snapshot on (free those with nodetool clearsnapshot).
func (v *Views) Reset(ctx context.Context) error {
	stmts := make([]stmt, len(viewTables))
	for i, t := range viewTables {
		stmts[i] = stmt{"truncate " + t, "TRUNCATE TABLE " + t, nil}
	}
	if err := v.exec(ctx, stmts...); err != nil {
		return fmt.Errorf("reset views: %w", err)
	}
	return nil
}
