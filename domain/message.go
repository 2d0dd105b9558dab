package domain

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Limits on message content. They are part of the public API contract.
const (
	// MaxTextRunes is the longest message text, in Unicode code points.
	MaxTextRunes = 4096
	// MaxClientMsgIDLen is the longest client_msg_id, in bytes.
	MaxClientMsgIDLen = 64
)

// Status is where a message is on its way to the recipient. Statuses only
// move forward: sent < delivered < read.
type Status uint8

// The statuses, in the only order a message can pass through them.
const (
	StatusUnknown Status = iota
	StatusSent
	StatusDelivered
	StatusRead
)

func (s Status) String() string {
	switch s {
	case StatusSent:
		return "sent"
	case StatusDelivered:
		return "delivered"
	case StatusRead:
		return "read"
	}
	return "unknown"
}

// ParseStatus is the inverse of Status.String.
func ParseStatus(s string) (Status, error) {
	switch s {
	case "sent":
		return StatusSent, nil
	case "delivered":
		return StatusDelivered, nil
	case "read":
		return StatusRead, nil
	}
	return StatusUnknown, fmt.Errorf("unknown status %q", s)
}

// Message is a text message from one user to another, as the views hold it.
type Message struct {
	ID          MessageID
	From        UserID
	To          UserID
	Text        string
	ClientMsgID string
	SentAt      time.Time
	Status      Status
	DeliveredAt time.Time // zero until delivered
	ReadAt      time.Time // zero until read
}

// Peer returns the other party of m as seen by user.
func (m Message) Peer(user UserID) UserID {
	if m.From == user {
		return m.To
	}
	return m.From
}

// Involves reports whether user is the sender or the recipient of m.
func (m Message) Involves(user UserID) bool { return m.From == user || m.To == user }

// ValidateText checks message text against the content rules: valid UTF-8,
// not empty (or only white space), at most MaxTextRunes code points.
func ValidateText(text string) error {
	if !utf8.ValidString(text) {
		return Errorf(CodeInvalidUTF8, "text is not valid UTF-8")
	}
	n := 0
	blank := true
	for _, r := range text {
		n++
		if !isSpace(r) {
			blank = false
		}
	}
	if blank {
		return Errorf(CodeEmptyText, "text is empty")
	}
	if n > MaxTextRunes {
		return Errorf(CodeTextTooLong, "text has %d characters; the limit is %d", n, MaxTextRunes)
	}
	return nil
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f', 0x85, 0xA0, 0x200B, 0x3000:
		return true
	}
	return false
}

// ValidateClientMsgID checks a client-chosen idempotency key: empty (none)
// or 1 to MaxClientMsgIDLen printable ASCII characters.
func ValidateClientMsgID(id string) error {
	if len(id) > MaxClientMsgIDLen {
		return Errorf(CodeInvalidField, "client_msg_id is longer than %d bytes", MaxClientMsgIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return Errorf(CodeInvalidField, "client_msg_id must be printable ASCII without spaces")
		}
	}
	return nil
}

// MarshalText renders s by name, so events and APIs carry "read", not 3.
func (s Status) MarshalText() ([]byte, error) {
	if s < StatusSent || s > StatusRead {
		return nil, fmt.Errorf("status %d has no name", s)
	}
	return []byte(s.String()), nil
}

// UnmarshalText is the inverse of MarshalText.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Advance moves m to status s, reached at time at, if that is a step
// forward, and reports whether m changed. It holds the status rules every
// command and store follows: statuses only move forward (a late delivery
// never undoes a read), and a read message is delivered too (at the read
// time, unless it was delivered earlier).
func (m *Message) Advance(s Status, at time.Time) bool {
	if s <= m.Status || s < StatusDelivered || s > StatusRead {
		return false
	}
	m.Status = s
	if m.DeliveredAt.IsZero() {
		m.DeliveredAt = at
	}
	if s == StatusRead {
		m.ReadAt = at
	}
	return true
}
