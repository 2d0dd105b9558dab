package domain

import "time"

// TypeConversationRead names ConversationRead in the log. Stored forever:
// never rename it.
const TypeConversationRead = "ConversationRead"

// ConversationRead records that To (the reader) has read every message
// From (the peer) sent to To whose id sorts at or before ID: the reader's
// "read up to" marker in the conversation with From. Message ids are
// time-ordered (NewID), so the marker follows the conversation's order.
//
// The marker only moves forward: a view keeps the highest ID it was given
// for (To, From), so the events commute with each other and with
// MessageRead, and applying one twice changes nothing. A conversation's
// unread count is the number of messages From sent To with an id above
// the marker that were not read one by one (MessageRead). It changes only
// the reader's views: per-message status, and so the sender's receipts,
// still come from MessageRead. It is keyed by the reader, like the
// MessageSent and MessageRead it counts with, so all three reach the
// reader's views in log order.
type ConversationRead struct {
	ID     MessageID `json:"id"`   // the last message read
	From   UserID    `json:"from"` // the peer, who sent the messages
	To     UserID    `json:"to"`   // the reader
	ReadAt time.Time `json:"read_at"`
}

func (e ConversationRead) Type() string       { return TypeConversationRead }
func (e ConversationRead) Key() UserID        { return e.To }
func (e ConversationRead) Message() MessageID { return e.ID }

// ReadUpTo reports whether a message with id is covered by the marker
// upTo ("" covers nothing).
func ReadUpTo(id, upTo MessageID) bool { return upTo != "" && id <= upTo }
