package cassandra

import (
	"context"

	"github.com/tidings-chat/tidings/domain"
)

// DropFeedBefore deletes user's feed items before before, as the TTL does
// once they are 30 days old.
func (v *Views) DropFeedBefore(ctx context.Context, user domain.UserID, before domain.Position) error {
	return v.session.Query(`DELETE FROM user_feed WHERE user_id = ? AND kpartition = ? AND offset < ?`,
		user, before.Partition, before.Offset).WithContext(ctx).Exec()
}
