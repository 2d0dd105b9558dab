package cassandra

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gocql/gocql"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

const selectFeed = `SELECT offset, kind, message_id, from_user, to_user, sent_at, status, at FROM user_feed
WHERE user_id = ? AND kpartition = ? AND offset > ? LIMIT ?`

const (
	selectOldestFeed = `SELECT offset FROM user_feed WHERE user_id = ? AND kpartition = ? LIMIT 1`
	selectFeedFirst  = `SELECT first_offset FROM user_feed_first WHERE user_id = ? AND kpartition = ?`
)

// FeedKept implements projections.Reader: the TTL drops a user's oldest
// items first; user_feed_first remembers where the feed began.
func (v *Views) FeedKept(ctx context.Context, user domain.UserID, after domain.Position) (bool, error) {
	var oldest []projections.FeedItem
	var off int64
	err := v.session.Query(selectOldestFeed, user, after.Partition).WithContext(ctx).Scan(&off)
	switch {
	case err == nil:
		oldest = []projections.FeedItem{{Cursor: domain.Position{Partition: after.Partition, Offset: off}}}
	case !errors.Is(err, gocql.ErrNotFound):
		return false, fmt.Errorf("read oldest feed item of %s: %w", user, err)
	}
	first := int64(-1)
	if err := v.session.Query(selectFeedFirst, user, after.Partition).WithContext(ctx).Scan(&first); err != nil && !errors.Is(err, gocql.ErrNotFound) {
		return false, fmt.Errorf("read first feed offset of %s: %w", user, err)
	}
	return projections.FeedKeptRule(oldest, first, after), nil
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
		if !it.Kind.CarriesMessage() {
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
