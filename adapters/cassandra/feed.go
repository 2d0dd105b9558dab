package cassandra

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

const (
	insertFeed = `INSERT INTO feed (user_id, kpartition, offset, kind, message_id, from_user, to_user, sent_at, status, at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	selectFeed = `SELECT offset, kind, message_id, from_user, to_user, sent_at, status, at FROM feed
WHERE user_id = ? AND kpartition = ? AND offset > ? LIMIT ?`
)

// feedStmt is the statement writing the feed item ev makes at pos, if any.
// The row is keyed by the position, so re-applying rewrites it unchanged.
func feedStmt(ev domain.Event, pos domain.Position) (stmt, bool) {
	user, item, ok := projections.FeedItemOf(ev, pos)
	if !ok {
		return stmt{}, false
	}
	m := item.Message
	var at any
	if !item.At.IsZero() {
		at = item.At
	}
	return stmt{"write feed item", insertFeed, []any{user, pos.Partition, pos.Offset, int8(item.Kind), m.ID, m.From, m.To,
		m.SentAt, int8(item.Status), at}}, true
}

// ApplyReceipt implements projections.Store. A receipt appended twice (the
// receipts projector is at-least-once) lands at two positions; clients
// de-duplicate by message id and status.
func (v *Views) ApplyReceipt(ctx context.Context, e domain.MessageReceipt, pos domain.Position) error {
	s, _ := feedStmt(e, pos)
	if err := v.exec(ctx, s); err != nil {
		return fmt.Errorf("apply receipt %s: %w", e.ID, err)
	}
	return nil
}

// Feed implements projections.Reader.
func (v *Views) Feed(ctx context.Context, user domain.UserID, after domain.Position, limit int) ([]projections.FeedItem, error) {
	iter := v.session.Query(selectFeed, user, after.Partition, after.Offset, limit).WithContext(ctx).Iter()
	var (
		out          []projections.FeedItem
		offset       int64
		kind, status int8
		id, from, to string
		sentAt, at   time.Time
	)
	for iter.Scan(&offset, &kind, &id, &from, &to, &sentAt, &status, &at) {
		out = append(out, projections.FeedItem{
			Cursor: domain.Position{Partition: after.Partition, Offset: offset},
			Kind:   projections.FeedKind(kind), Status: domain.Status(status), At: at.UTC(),
			Message: domain.Message{ID: domain.MessageID(id), From: domain.UserID(from), To: domain.UserID(to), SentAt: sentAt.UTC()},
		})
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("read feed of %s: %w", user, err)
	}
	for i, it := range out {
		if it.Kind != projections.FeedMessage {
			continue
		}
		m, err := v.Message(ctx, user, it.Message.ID)
		if err != nil {
			return nil, fmt.Errorf("feed message %s: %w", it.Message.ID, err)
		}
		out[i].Message = m
	}
	return out, nil
}
