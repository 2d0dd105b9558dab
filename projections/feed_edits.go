package projections

import "github.com/tidings-chat/tidings/domain"

// Feed item kinds of edits and deletes (issue 12). Stored in the feed: never
// renumber one. They start at 10, clear of the kinds other features add.
const (
	// FeedEdited: a message the user received was edited. Message holds
	// the new text, version and edit time (a store reading the item back
	// loads the message as it is now).
	FeedEdited FeedKind = 10
	// FeedDeleted: a message the user received was deleted for everyone
	// (At is when).
	FeedDeleted FeedKind = 11
	// FeedHidden: the user deleted a message for themself on some device;
	// the other devices drop it.
	FeedHidden FeedKind = 12
	// FeedReactedBySender and FeedReactedByRecipient: the sender of a
	// message the user received, or the user on some device, set or
	// removed a reaction. Message holds the message with that reaction
	// (Reactions; Emoji "" when removed); a store reading the item back
	// loads the message as it is now and takes that party's reaction.
	FeedReactedBySender    FeedKind = 13
	FeedReactedByRecipient FeedKind = 14
)

// CarriesMessage reports whether an item of kind k shows the message as
// the views hold it, so a store reading the item back loads the message.
func (k FeedKind) CarriesMessage() bool {
	return k == FeedMessage || k == FeedSent || k == FeedEdited || k == FeedReactedBySender || k == FeedReactedByRecipient
}

// feedItemOfEdit is FeedItemOf for the edit and delete events. Like every
// feed item, each is for the user whose partition carries the event: the
// recipient (the sender's own devices learn of their edits from the
// response, see docs/websocket.md). A MessageHidden makes an item only
// when the recipient hid the message.
func feedItemOfEdit(ev domain.Event, pos domain.Position) (domain.UserID, FeedItem, bool) {
	switch e := ev.(type) {
	case domain.MessageEdited:
		return e.To, FeedItem{Cursor: pos, Kind: FeedEdited, At: e.EditedAt,
			Message: domain.Message{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, Text: e.Text, Version: e.Version, EditedAt: e.EditedAt}}, true
	case domain.MessageDeleted:
		return e.To, FeedItem{Cursor: pos, Kind: FeedDeleted, At: e.DeletedAt,
			Message: domain.Message{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, Deleted: true, DeletedAt: e.DeletedAt}}, true
	case domain.MessageReacted:
		kind := FeedReactedBySender
		if e.By == e.To {
			kind = FeedReactedByRecipient
		}
		m := domain.Message{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt}
		m.Reactions[m.ReactionIndex(e.By)] = domain.Reaction{By: e.By, Emoji: e.Emoji, Version: e.Version}
		return e.To, FeedItem{Cursor: pos, Kind: kind, At: e.At, Message: m}, true
	case domain.MessageHidden:
		if e.By != e.To {
			return "", FeedItem{}, false
		}
		return e.To, FeedItem{Cursor: pos, Kind: FeedHidden, At: e.HiddenAt,
			Message: domain.Message{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, Hidden: true}}, true
	}
	return "", FeedItem{}, false
}
