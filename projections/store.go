package projections

import (
	"context"

	"github.com/tidings-chat/tidings/domain"
)

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
	// FeedKept reports whether user's feed still holds every item after
	// after (in after's partition). A store keeps feed items for a limited
	// time (Cassandra: 30 days); false means an item after after may be
	// gone, so a client resuming from after must start over from the
	// views rather than be handed a truncated backlog (FeedKeptRule).
	FeedKept(ctx context.Context, user domain.UserID, after domain.Position) (bool, error)
}

// Store holds the views. Each change (ApplyBatch) writes the rows of ONE
// user, Change.User, which must be a party of the event (the sender or the
// recipient):
// every row belongs to one user, so the two parties' rows may live in
// different stores (shards). Changes are idempotent: applying an
// event a second time, at any later point, changes nothing. Status only
// moves forward (a late MessageDelivered never undoes a read). A user's
// events arrive in log order (all events of a message, and of an inbox,
// share the recipient's partition); events of different users may
// interleave in any order and the views converge all the same. The user
// whose partition carries the event also gets a feed item at its position
// (FeedItemOf).
type Store interface {
	Reader
	// ApplyBatch applies changes in their order, with the same effect as
	// each change applied alone in turn, and records positions (the
	// highest applied offset of each partition; may be nil) so that a
	// recorded position never claims a change that is not written: in the
	// same atomic write where the store can (Pebble), else after the
	// changes are written (Cassandra). It may return before its writes
	// reach the disk (Flush makes them durable); after a
	// crash the store holds some prefix of its writes, and the positions
	// it then reports say how far that prefix goes. It returns the feed
	// items the batch wrote that the store did not hold before, in order
	// for each user (a store that cannot tell returns every feed item of the batch; a
	// connection drops what it has already seen).
	ApplyBatch(ctx context.Context, changes []Change, positions map[int32]int64) ([]FeedItem, error)
	// RecordPosition records that every row of the event at pos is
	// written (the highest offset of a partition wins), and like Flush
	// makes every write before it durable.
	RecordPosition(ctx context.Context, pos domain.Position) error
	// Flush makes every write before it durable.
	Flush(ctx context.Context) error
	// AppliedPositions returns the highest recorded offset of each
	// partition.
	AppliedPositions(ctx context.Context) (map[int32]int64, error)
	// Reset deletes every view row and recorded position (for replay).
	Reset(ctx context.Context) error
}

// Change is one user's share of one event: the rows of User that Event,
// at Pos, writes (see Store). User must be one of Parties(Event).
type Change struct {
	Event domain.Event
	User  domain.UserID
	Pos   domain.Position
}

// ChangesOf returns the changes of the records in b, party by party.
func ChangesOf(b Batch) []Change {
	out := make([]Change, 0, 2*len(b.Records))
	for _, r := range b.Records {
		for _, u := range Parties(r.Event) {
			out = append(out, Change{Event: r.Event, User: u, Pos: r.Pos})
		}
	}
	return out
}

// Parties returns the users whose rows an event touches: for a message
// event its sender and recipient, for a receipt only the sender.
func Parties(ev domain.Event) []domain.UserID {
	switch e := ev.(type) {
	case domain.MessageSent:
		return []domain.UserID{e.From, e.To}
	case domain.MessageDelivered:
		return []domain.UserID{e.From, e.To}
	case domain.MessageRead:
		return []domain.UserID{e.From, e.To}
	case domain.MessageReceipt:
		return []domain.UserID{e.From}
	case domain.MessageEdited:
		return []domain.UserID{e.From, e.To}
	case domain.MessageDeleted:
		return []domain.UserID{e.From, e.To}
	case domain.MessageHidden:
		return []domain.UserID{e.By}
	case domain.MessageReacted:
		return []domain.UserID{e.From, e.To}
	case domain.ConversationRead:
		return []domain.UserID{e.To}
	case domain.MessageEcho:
		return []domain.UserID{e.From}
	}
	return nil
}

// ApplyFor writes user's rows of ev, at pos, to s: a batch of one change.
func ApplyFor(ctx context.Context, s Store, ev domain.Event, user domain.UserID, pos domain.Position) error {
	_, err := s.ApplyBatch(ctx, []Change{{Event: ev, User: user, Pos: pos}}, nil)
	return err
}
