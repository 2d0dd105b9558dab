package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event type names. They are stored in the event log forever: never rename
// one. docs/events.md is the catalogue.
const (
	TypeMessageSent      = "MessageSent"
	TypeMessageDelivered = "MessageDelivered"
	TypeMessageRead      = "MessageRead"
	TypeMessageReceipt   = "MessageReceipt"
)

// EventVersion is the schema version written for every event type. Readers
// accept every version up to it.
const EventVersion = 1

// Event is an immutable fact about a message. Every event concerns exactly
// one message. Key returns the user whose partition carries the event: the
// recipient for MessageSent, MessageDelivered and MessageRead, which keeps
// all events of one inbox, and of one message, in order in the log; the
// sender for MessageReceipt, so each user's own partition carries
// everything that user is told.
type Event interface {
	Type() string
	Key() UserID
	Message() MessageID
}

// MessageSent records that From sent Text to To. It is the only event that
// carries message text.
type MessageSent struct {
	ID          MessageID `json:"id"`
	From        UserID    `json:"from"`
	To          UserID    `json:"to"`
	Text        string    `json:"text"`
	ClientMsgID string    `json:"client_msg_id,omitempty"`
	SentAt      time.Time `json:"sent_at"`
	// Retry marks the event a retried send appended again (its
	// client_msg_id was already reserved), so an earlier copy may be in
	// the log: a projector that writes without reading checks for the
	// message before it adds a feed item or pushes (docs/events.md).
	Retry bool `json:"retry,omitempty"`
	// ReplyTo and ReplyVersion name the message, and the version of its
	// text, this one replies to (issue 12; empty and 0 when it is no
	// reply). The command checks that the sender sees it in the same
	// conversation.
	ReplyTo      MessageID `json:"reply_to,omitempty"`
	ReplyVersion int       `json:"reply_version,omitempty"`
}

// MessageDelivered records that a device of the recipient received the
// message. SentAt repeats the message's send time so projectors can find
// its rows without reading.
type MessageDelivered struct {
	ID          MessageID `json:"id"`
	From        UserID    `json:"from"`
	To          UserID    `json:"to"`
	SentAt      time.Time `json:"sent_at"`
	DeliveredAt time.Time `json:"delivered_at"`
}

// MessageRead records that the recipient read the message.
type MessageRead struct {
	ID     MessageID `json:"id"`
	From   UserID    `json:"from"`
	To     UserID    `json:"to"`
	SentAt time.Time `json:"sent_at"`
	ReadAt time.Time `json:"read_at"`
}

// MessageReceipt tells the sender that its message was delivered or read.
// It is derived: the receipts projector appends one for every
// MessageDelivered and MessageRead, keyed by the sender, so that everything
// a user is told arrives in that user's own partition, in order. Status is
// StatusDelivered or StatusRead; At is when it happened.
type MessageReceipt struct {
	ID     MessageID `json:"id"`
	From   UserID    `json:"from"`
	To     UserID    `json:"to"`
	SentAt time.Time `json:"sent_at"`
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
}

func (e MessageSent) Type() string            { return TypeMessageSent }
func (e MessageSent) Key() UserID             { return e.To }
func (e MessageSent) Message() MessageID      { return e.ID }
func (e MessageDelivered) Type() string       { return TypeMessageDelivered }
func (e MessageDelivered) Key() UserID        { return e.To }
func (e MessageDelivered) Message() MessageID { return e.ID }
func (e MessageRead) Type() string            { return TypeMessageRead }
func (e MessageRead) Key() UserID             { return e.To }
func (e MessageRead) Message() MessageID      { return e.ID }
func (e MessageReceipt) Type() string         { return TypeMessageReceipt }
func (e MessageReceipt) Key() UserID          { return e.From }
func (e MessageReceipt) Message() MessageID   { return e.ID }

// AsMessage returns the message as first sent: status sent.
func (e MessageSent) AsMessage() Message {
	return Message{ID: e.ID, From: e.From, To: e.To, Text: e.Text, ClientMsgID: e.ClientMsgID, SentAt: e.SentAt, Status: StatusSent,
		ReplyTo: e.ReplyTo, ReplyVersion: e.ReplyVersion}
}

// envelope is how an event is stored: {"type":..., "v":..., "data":{...}}.
type envelope struct {
	Type string `json:"type"`
	V    int    `json:"v"`
	Data Event  `json:"data"`
}

// eventFields is the union of every event type's fields, so an envelope
// decodes in one pass (the type is known only once "type" is read).
type eventFields struct {
	ID          MessageID `json:"id"`
	From        UserID    `json:"from"`
	To          UserID    `json:"to"`
	Text        string    `json:"text"`
	ClientMsgID string    `json:"client_msg_id"`
	Retry       bool      `json:"retry"`
	SentAt      time.Time `json:"sent_at"`
	DeliveredAt time.Time `json:"delivered_at"`
	ReadAt      time.Time `json:"read_at"`
	Status      *Status   `json:"status"`
	At          time.Time `json:"at"`
	// Edits and deletes (events_edits.go).
	Version   int       `json:"version"`
	EditedAt  time.Time `json:"edited_at"`
	DeletedAt time.Time `json:"deleted_at"`
	By        UserID    `json:"by"`
	HiddenAt  time.Time `json:"hidden_at"`
	// Replies (MessageSent).
	ReplyTo      MessageID `json:"reply_to"`
	ReplyVersion int       `json:"reply_version"`
	// Reactions (MessageReacted; also By, Version, At).
	Emoji string `json:"emoji"`
}

type decodedEnvelope struct {
	Type string      `json:"type"`
	V    int         `json:"v"`
	Data eventFields `json:"data"`
}

// MarshalEvent encodes ev in its self-describing JSON envelope
// {"type":..., "v":..., "data":{...}}.
func MarshalEvent(ev Event) ([]byte, error) {
	b, err := json.Marshal(envelope{Type: ev.Type(), V: EventVersion, Data: ev})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", ev.Type(), err)
	}
	return b, nil
}

// UnmarshalEvent decodes an envelope written by MarshalEvent. Unknown types
// and versions newer than EventVersion are errors: a reader must never
// silently skip an event it does not understand.
func UnmarshalEvent(b []byte) (Event, error) {
	var env decodedEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("decode event envelope: %w", err)
	}
	if env.V < 1 || env.V > EventVersion {
		return nil, fmt.Errorf("event %s: unsupported version %d", env.Type, env.V)
	}
	d := env.Data
	switch env.Type {
	case TypeMessageSent:
		return MessageSent{ID: d.ID, From: d.From, To: d.To, Text: d.Text, ClientMsgID: d.ClientMsgID, SentAt: d.SentAt, Retry: d.Retry,
			ReplyTo: d.ReplyTo, ReplyVersion: d.ReplyVersion}, nil
	case TypeMessageDelivered:
		return MessageDelivered{ID: d.ID, From: d.From, To: d.To, SentAt: d.SentAt, DeliveredAt: d.DeliveredAt}, nil
	case TypeMessageRead:
		return MessageRead{ID: d.ID, From: d.From, To: d.To, SentAt: d.SentAt, ReadAt: d.ReadAt}, nil
	case TypeMessageEcho:
		return MessageEcho{ID: d.ID, From: d.From, To: d.To, Text: d.Text, ClientMsgID: d.ClientMsgID, SentAt: d.SentAt,
			ReplyTo: d.ReplyTo, ReplyVersion: d.ReplyVersion}, nil
	case TypeConversationRead:
		return ConversationRead{ID: d.ID, From: d.From, To: d.To, ReadAt: d.ReadAt}, nil
	case TypeMessageReceipt:
		if d.Status == nil || (*d.Status != StatusDelivered && *d.Status != StatusRead) {
			return nil, fmt.Errorf("decode %s: receipt status missing or not delivered/read", env.Type)
		}
		return MessageReceipt{ID: d.ID, From: d.From, To: d.To, SentAt: d.SentAt, Status: *d.Status, At: d.At}, nil
	}
	if ev, ok := decodeEdits(env.Type, d); ok {
		return ev, nil
	}
	return nil, fmt.Errorf("unknown event type %q", env.Type)
}

// ErrUnattributable marks an event that no command of tidings writes: a
// field every command sets is missing or malformed. Such an event did not
// come from the command path (a forged or corrupted record), so the views
// refuse it instead of showing it.
var ErrUnattributable = errors.New("event not written by a tidings command")

// ValidateEvent checks that ev has every field the command that writes it
// always sets: valid message and user ids, two different parties, a send
// time, text and client_msg_id within the content rules, and the time (and
// for a receipt the status) of what happened.
func ValidateEvent(ev Event) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s %s", ErrUnattributable, ev.Type(), why) }
	var from, to UserID
	var sentAt time.Time
	switch e := ev.(type) {
	case MessageSent:
		from, to, sentAt = e.From, e.To, e.SentAt
		if ValidateStoredText(e.Text) != nil || ValidateClientMsgID(e.ClientMsgID) != nil {
			return bad("with text or client_msg_id outside the content rules")
		}
		if e.ReplyTo != "" && (!ValidID(string(e.ReplyTo)) || e.ReplyTo == e.ID || e.ReplyVersion < 1) {
			return bad("replying to no valid message and version")
		}
	case MessageDelivered:
		from, to, sentAt = e.From, e.To, e.SentAt
		if e.DeliveredAt.IsZero() {
			return bad("without delivered_at")
		}
	case MessageRead:
		from, to, sentAt = e.From, e.To, e.SentAt
		if e.ReadAt.IsZero() {
			return bad("without read_at")
		}
	case MessageReceipt:
		from, to, sentAt = e.From, e.To, e.SentAt
		if (e.Status != StatusDelivered && e.Status != StatusRead) || e.At.IsZero() {
			return bad("without a delivered/read status and its time")
		}
	case MessageEcho:
		from, to, sentAt = e.From, e.To, e.SentAt
		if ValidateStoredText(e.Text) != nil || ValidateClientMsgID(e.ClientMsgID) != nil {
			return bad("with text or client_msg_id outside the content rules")
		}
		if e.ReplyTo != "" && (!ValidID(string(e.ReplyTo)) || e.ReplyTo == e.ID || e.ReplyVersion < 1) {
			return bad("replying to no valid message and version")
		}
	case ConversationRead:
		// It names no send time: the marker is the message id.
		from, to, sentAt = e.From, e.To, e.ReadAt
		if e.ReadAt.IsZero() {
			return bad("without read_at")
		}
	default:
		f, t, s, why, known := validateEdits(ev)
		if !known {
			return bad("of an unknown type")
		}
		if why != "" {
			return bad(why)
		}
		from, to, sentAt = f, t, s
	}
	switch {
	case !ValidID(string(ev.Message())):
		return bad("without a valid message id")
	case !ValidID(string(from)) || !ValidID(string(to)) || from == to:
		return bad("without two valid, different parties")
	case sentAt.IsZero():
		return bad("without sent_at")
	}
	return nil
}
