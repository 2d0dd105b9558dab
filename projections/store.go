package projections

import (
	"context"

	"github.com/tidings-chat/tidings/domain"
)

// ViewsGroup is the consumer-group name of the views projector. It is stored
// with the committed offsets in the broker: renaming it re-projects the
// whole log.
const ViewsGroup = "tidings-views-v1"

// Conversation is one row of a user's conversation list.
type Conversation struct {
	Peer   domain.UserID
	Last   domain.Message
	Unread int
}

// Page asks for at most Limit rows after the opaque cursor After (nil for
// the first page).
type Page struct {
	After []byte
	Limit int
}

// Reader answers queries from the views. Every method returns only rows
// that belong to user; a message of other people is domain.ErrNotFound.
// Cursors are opaque, stable across restarts and replays, and a nil next
// cursor means there is nothing more. Implementations are safe for
// concurrent use.
type Reader interface {
	// Message returns message id if user is its sender or recipient.
	Message(ctx context.Context, user domain.UserID, id domain.MessageID) (domain.Message, error)
	// Unread returns user's unread received messages, oldest first.
	Unread(ctx context.Context, user domain.UserID, p Page) (msgs []domain.Message, next []byte, err error)
	// Conversations returns user's conversations, most recent last message
	// first.
	Conversations(ctx context.Context, user domain.UserID, p Page) (convs []Conversation, next []byte, err error)
	// History returns the messages between user and peer in both
	// directions, newest first.
	History(ctx context.Context, user, peer domain.UserID, p Page) (msgs []domain.Message, next []byte, err error)
	// Feed returns up to limit of user's feed items in after's partition
	// with an offset greater than after.Offset, oldest first (Offset -1
	// for the whole partition). A user's items all sit in the partition
	// the user's key maps to.
	Feed(ctx context.Context, user domain.UserID, after domain.Position, limit int) ([]FeedItem, error)
}

// Store holds the views. Apply methods are idempotent: applying an event a
// second time, at any later point, changes nothing. Status only moves
// forward (a late MessageDelivered never undoes a read). Events of one
// recipient arrive in log order; events of different recipients may
// interleave in any order and the views converge all the same. Apply
// methods also keep each user's feed (FeedItemOf): the item is written at
// the event's position, so re-applying rewrites the same item. Each Apply
// also records pos as applied for its partition (the highest offset wins).
type Store interface {
	Reader
	ApplySent(ctx context.Context, e domain.MessageSent, pos domain.Position) error
	ApplyDelivered(ctx context.Context, e domain.MessageDelivered, pos domain.Position) error
	ApplyRead(ctx context.Context, e domain.MessageRead, pos domain.Position) error
	// ApplyReceipt records a receipt in the sender's feed; a second
	// receipt for the same message and status adds nothing.
	ApplyReceipt(ctx context.Context, e domain.MessageReceipt, pos domain.Position) error
	// AppliedPositions returns the highest applied offset of each partition.
	AppliedPositions(ctx context.Context) (map[int32]int64, error)
	// Reset deletes every view row and applied position (for replay).
	Reset(ctx context.Context) error
}
