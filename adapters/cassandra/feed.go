package cassandra

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

const selectFeed = `SELECT offset, kind, message_id, from_user, to_user, sent_at, status, at FROM user_feed
WHERE user_id = ? AND kpartition = ? AND offset > ? LIMIT ?`

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
