package embedded

import (
	"encoding/binary"

	"github.com/tidings-chat/tidings/domain"
)

// DropFeedBefore deletes user's feed items before before, as a retention
// would (the embedded store keeps its feed for ever).
func (v *Views) DropFeedBefore(user domain.UserID, before domain.Position) error {
	lo := binary.BigEndian.AppendUint32(feedPrefix(user), uint32(before.Partition))
	return v.db.DeleteRange(lo, feedKey(user, before), nil)
}
