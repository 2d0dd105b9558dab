package projections

import (
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// FeedKind says what a feed item tells its user.
type FeedKind uint8

// Feed item kinds.
const (
	// FeedMessage: a message arrived for the user.
	FeedMessage FeedKind = iota + 1
	// FeedReceipt: a message the user sent was delivered or read.
	FeedReceipt
	// FeedRead: the user read a message (on some device): other devices
	// can clear it.
	FeedRead
	// FeedReadUpTo: the user read a conversation up to a message
	// (domain.ConversationRead): other devices clear it up to there.
	FeedReadUpTo
	// FeedSent: the user sent a message (on some device,
	// domain.MessageEcho): other devices show it. Message is the whole
	// message.
	FeedSent
)

func (k FeedKind) String() string {
	switch k {
	case FeedMessage:
		return "message"
	case FeedReceipt:
		return "receipt"
	case FeedRead:
		return "read"
	case FeedEdited:
		return "edited"
	case FeedDeleted:
		return "deleted"
	case FeedHidden:
		return "hidden"
	case FeedReactedBySender, FeedReactedByRecipient:
		return "reaction"
	case FeedReadUpTo:
		return "read_up_to"
	case FeedSent:
		return "sent"
	}
	return "unknown"
}

// FeedItem is one thing pushed to a user. Every item of a user comes from
// that user's own partition of the log (the events keyed by the user), so
// Cursor, the event's position, grows with every item: resuming after a
// cursor misses nothing and repeats nothing.
type FeedItem struct {
	Cursor domain.Position
	Kind   FeedKind
	// Message is the whole message for FeedMessage; for FeedReceipt and
	// FeedRead only ID, From, To and SentAt are set.
	Message domain.Message
	// Status and At say what happened for FeedReceipt and FeedRead.
	Status domain.Status
	At     time.Time
}

// FeedItemOf returns the feed item an event produces at pos, and the user
// it is for; ok is false for events that tell nobody anything (a delivery
// is told to the sender through the derived MessageReceipt).
func FeedItemOf(ev domain.Event, pos domain.Position) (user domain.UserID, item FeedItem, ok bool) {
	switch e := ev.(type) {
	case domain.MessageSent:
		return e.To, FeedItem{Cursor: pos, Kind: FeedMessage, Message: e.AsMessage()}, true
	case domain.MessageReceipt:
		return e.From, FeedItem{Cursor: pos, Kind: FeedReceipt, Status: e.Status, At: e.At,
			Message: domain.Message{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt}}, true
	case domain.MessageRead:
		return e.To, FeedItem{Cursor: pos, Kind: FeedRead, Status: domain.StatusRead, At: e.ReadAt,
			Message: domain.Message{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt}}, true
	case domain.MessageEcho:
		return e.From, FeedItem{Cursor: pos, Kind: FeedSent, Message: e.Sent().AsMessage()}, true
	case domain.ConversationRead:
		return e.To, FeedItem{Cursor: pos, Kind: FeedReadUpTo, Status: domain.StatusRead, At: e.ReadAt,
			Message: domain.Message{ID: e.ID, From: e.From, To: e.To}}, true
	}
	return feedItemOfEdit(ev, pos)
}

// User returns whose feed the item is in: the recipient of a message, the
// sender for a receipt or an echo of its own send, the reader for a read.
func (it FeedItem) User() domain.UserID {
	if it.Kind == FeedReceipt || it.Kind == FeedSent {
		return it.Message.From
	}
	return it.Message.To
}

// FeedKeptRule is how a store answers Reader.FeedKept from the oldest item
// it still holds in after's partition (oldest, empty if none) and the
// offset of the first item it ever wrote there (first, -1 if unknown).
// Items expire oldest first (an item is never written before one of a
// lower offset), so the items after a retained one are all retained:
//   - the oldest retained item is at or before after: nothing after it
//     was dropped;
//   - the oldest retained item is the first ever: nothing was dropped;
//   - no item is held and none was ever written: nothing was dropped;
//   - else items were dropped, and those between after and the oldest
//     retained one may have been among them: not kept. (This also answers
//     "not kept" to a client whose cursor is older than the retention
//     though nothing happened to it since; it refetches its views.) An
//     item held without a known first (written before stores recorded
//     it) counts as possibly preceded by dropped ones.
func FeedKeptRule(oldest []FeedItem, first int64, after domain.Position) bool {
	switch {
	case len(oldest) == 0:
		return first < 0
	case oldest[0].Cursor.Offset <= after.Offset:
		return true
	}
	return first >= 0 && oldest[0].Cursor.Offset == first
}
