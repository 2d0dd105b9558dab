package domain

import "time"

// Event types of edits and deletes (issue 12). Stored forever: never
// rename one. docs/events.md is the catalogue.
const (
	TypeMessageEdited  = "MessageEdited"
	TypeMessageDeleted = "MessageDeleted"
	TypeMessageHidden  = "MessageHidden"
)

// MessageEdited records that the sender replaced the text of a message.
// Version is the version it makes (the first text is version 1, so an
// edit's is at least 2); the command takes it from the views, one above
// the version it saw, and projectors apply an edit only if its version is
// above the one they hold, so a duplicate or an edit that lost a race with
// another one of the same version changes nothing. Like every event of a
// message it is keyed by the recipient.
type MessageEdited struct {
	ID       MessageID `json:"id"`
	From     UserID    `json:"from"`
	To       UserID    `json:"to"`
	SentAt   time.Time `json:"sent_at"`
	Version  int       `json:"version"`
	Text     string    `json:"text"`
	EditedAt time.Time `json:"edited_at"`
}

// MessageDeleted records that the sender deleted a message for everyone:
// both parties' views keep a tombstone without its text or versions.
type MessageDeleted struct {
	ID        MessageID `json:"id"`
	From      UserID    `json:"from"`
	To        UserID    `json:"to"`
	SentAt    time.Time `json:"sent_at"`
	DeletedAt time.Time `json:"deleted_at"`
}

// MessageHidden records that By, a party of the message, deleted it for
// themself: it leaves By's views and only those ("delete for me").
type MessageHidden struct {
	ID       MessageID `json:"id"`
	From     UserID    `json:"from"`
	To       UserID    `json:"to"`
	SentAt   time.Time `json:"sent_at"`
	By       UserID    `json:"by"`
	HiddenAt time.Time `json:"hidden_at"`
}

func (e MessageEdited) Type() string        { return TypeMessageEdited }
func (e MessageEdited) Key() UserID         { return e.To }
func (e MessageEdited) Message() MessageID  { return e.ID }
func (e MessageDeleted) Type() string       { return TypeMessageDeleted }
func (e MessageDeleted) Key() UserID        { return e.To }
func (e MessageDeleted) Message() MessageID { return e.ID }
func (e MessageHidden) Type() string        { return TypeMessageHidden }
func (e MessageHidden) Key() UserID         { return e.To }
func (e MessageHidden) Message() MessageID  { return e.ID }

// MessageVersion is one text a message had: version 1 is the text sent,
// each edit adds the next. At is when it was sent or edited.
type MessageVersion struct {
	Version int
	Text    string
	At      time.Time
}

// decodeEdits builds the event of an edit or delete type from an
// envelope's fields; ok is false for other types.
func decodeEdits(typ string, d eventFields) (Event, bool) {
	switch typ {
	case TypeMessageEdited:
		return MessageEdited{ID: d.ID, From: d.From, To: d.To, SentAt: d.SentAt, Version: d.Version, Text: d.Text, EditedAt: d.EditedAt}, true
	case TypeMessageDeleted:
		return MessageDeleted{ID: d.ID, From: d.From, To: d.To, SentAt: d.SentAt, DeletedAt: d.DeletedAt}, true
	case TypeMessageHidden:
		return MessageHidden{ID: d.ID, From: d.From, To: d.To, SentAt: d.SentAt, By: d.By, HiddenAt: d.HiddenAt}, true
	case TypeMessageReacted:
		return MessageReacted{ID: d.ID, From: d.From, To: d.To, SentAt: d.SentAt, By: d.By, Emoji: d.Emoji, Version: d.Version, At: d.At}, true
	}
	return nil, false
}

// validateEdits checks the fields of an edit or delete event that its
// command always sets (see ValidateEvent); known is false for other types.
func validateEdits(ev Event) (from, to UserID, sentAt time.Time, why string, known bool) {
	switch e := ev.(type) {
	case MessageEdited:
		if e.Version < 2 || e.EditedAt.IsZero() || ValidateStoredText(e.Text) != nil {
			why = "without a version above 1, edited_at, or text within the content rules"
		}
		return e.From, e.To, e.SentAt, why, true
	case MessageDeleted:
		if e.DeletedAt.IsZero() {
			why = "without deleted_at"
		}
		return e.From, e.To, e.SentAt, why, true
	case MessageHidden:
		if (e.By != e.From && e.By != e.To) || e.HiddenAt.IsZero() {
			why = "without a party as by, or hidden_at"
		}
		return e.From, e.To, e.SentAt, why, true
	case MessageReacted:
		if (e.By != e.From && e.By != e.To) || e.At.IsZero() || e.Version < 1 || (e.Emoji != "" && ValidateEmoji(e.Emoji) != nil) {
			why = "without a party as by, a version, at, or one emoji (or none)"
		}
		return e.From, e.To, e.SentAt, why, true
	}
	return "", "", time.Time{}, "", false
}
