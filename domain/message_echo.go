package domain

import "time"

// TypeMessageEcho names MessageEcho in the log. Stored forever: never
// rename it.
const TypeMessageEcho = "MessageEcho"

// MessageEcho tells the sender's own partition that From sent a message:
// it is the message as sent (the fields of MessageSent but Retry), so the
// sender's other devices show it live and on resume, in the same cursor
// order as everything else they are told. It is derived: the views
// pipeline appends one for every MessageSent it projects (so a retried or
// redelivered send may make several; the views keep one feed item where
// they can tell, and a connection drops repeats it remembers), keyed by
// the sender, like MessageReceipt. Its text is MessageSent's as stored
// (sealed with the author's data key), so deleting that key erases the
// echo's text too.
type MessageEcho struct {
	ID          MessageID `json:"id"`
	From        UserID    `json:"from"`
	To          UserID    `json:"to"`
	Text        string    `json:"text"`
	ClientMsgID string    `json:"client_msg_id,omitempty"`
	SentAt      time.Time `json:"sent_at"`
	// ReplyTo and ReplyVersion repeat the send's (MessageSent.ReplyTo): the
	// sender's copy may be written from the echo first.
	ReplyTo      MessageID `json:"reply_to,omitempty"`
	ReplyVersion int       `json:"reply_version,omitempty"`
}

func (e MessageEcho) Type() string       { return TypeMessageEcho }
func (e MessageEcho) Key() UserID        { return e.From }
func (e MessageEcho) Message() MessageID { return e.ID }

// EchoOf returns the MessageEcho of a send.
func EchoOf(e MessageSent) MessageEcho {
	return MessageEcho{ID: e.ID, From: e.From, To: e.To, Text: e.Text, ClientMsgID: e.ClientMsgID, SentAt: e.SentAt,
		ReplyTo: e.ReplyTo, ReplyVersion: e.ReplyVersion}
}

// Sent returns the MessageSent the echo repeats (as a first send).
func (e MessageEcho) Sent() MessageSent {
	return MessageSent{ID: e.ID, From: e.From, To: e.To, Text: e.Text, ClientMsgID: e.ClientMsgID, SentAt: e.SentAt,
		ReplyTo: e.ReplyTo, ReplyVersion: e.ReplyVersion}
}
