package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Noncharacter is U+FFFF, which Unicode guarantees is never a character
// of text: a message text never contains it, so stored text that starts
// with it is known to be sealed (encrypted; see adapters/datakeys).
const Noncharacter = '\uffff'

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
	// Erased: the text is gone for good (its author's account was deleted
	// and the key that sealed it with it); Text is empty.
	Erased bool
	// Edits and deletes (issue 12). Version is the text's version: 0 or 1
	// until the first edit; EditedAt is the time of the last edit (zero if
	// none). A message deleted for everyone is a tombstone: Deleted, its
	// DeletedAt, and no Text. Hidden is set on a message its viewer
	// deleted for themself (Reader.Message only; listings leave it out).
	Version   int
	EditedAt  time.Time
	Deleted   bool
	DeletedAt time.Time
	Hidden    bool
	// Replies (issue 12): the message and version this one answers, and,
	// when a reader resolved it (projections.Quoted), the quote.
	ReplyTo      MessageID
	ReplyVersion int
	Quote        *Quote
	// Reactions are the parties' reactions: [0] the sender's, [1] the
	// recipient's; a zero Reaction (Emoji "") is none. (An array, so a
	// Message stays comparable.)
	Reactions [2]Reaction
}

// ReactionIndex returns where user's reaction sits in Message.Reactions.
func (m Message) ReactionIndex(user UserID) int {
	if user == m.From {
		return 0
	}
	return 1
}

// Quote is what a reply shows of the version it answered: its text, or
// that it is gone (Deleted: deleted for everyone since; Unavailable: the
// reader deleted it for themself).
type Quote struct {
	ID          MessageID
	Version     int
	Text        string
	Deleted     bool
	Unavailable bool
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
// not blank (see isBlank), at most MaxTextRunes code points.
func ValidateText(text string) error {
	if !utf8.ValidString(text) {
		return Errorf(CodeInvalidUTF8, "text is not valid UTF-8")
	}
	blank := true
	for _, r := range text {
		if !isBlank(r) {
			blank = false
			break
		}
	}
	if blank {
		return Errorf(CodeEmptyText, "text is empty or only blank characters")
	}
	if strings.ContainsRune(text, Noncharacter) {
		return Errorf(CodeInvalidField, "text contains U+FFFF, which is not a character")
	}
	if n := utf8.RuneCountInString(text); n > MaxTextRunes {
		return Errorf(CodeTextTooLong, "text has %d characters; the limit is %d", n, MaxTextRunes)
	}
	return nil
}

// MaxSealedLen bounds sealed text: the mark, and the base64 of a nonce,
// the longest text in UTF-8 and a tag, with room to spare.
const MaxSealedLen = 2 + (12+4*MaxTextRunes+16+2)/3*4 + 64

// ValidateStoredText checks text as events and views hold it: either a
// message text (ValidateText) or sealed text, which is Noncharacter, a
// format version digit and standard base64 without padding, at most
// MaxSealedLen bytes. Whether sealed text opens is for its key to say.
func ValidateStoredText(text string) error {
	rest, ok := strings.CutPrefix(text, string(Noncharacter))
	if !ok {
		return ValidateText(text)
	}
	if len(text) > MaxSealedLen || len(rest) < 2 || rest[0] < '0' || rest[0] > '9' {
		return Errorf(CodeInvalidField, "sealed text is malformed")
	}
	for i := 1; i < len(rest); i++ {
		c := rest[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return Errorf(CodeInvalidField, "sealed text is malformed")
		}
	}
	return nil
}

// isBlank reports whether r shows as nothing: Unicode White_Space (U+2003,
// U+2028, U+3000, ...), a control character, a Default_Ignorable_Code_Point
// (invisible format characters such as U+200B..U+200F, U+2060, U+FEFF,
// U+180E, bidi controls, variation selectors, tags, and the Hangul fillers
// U+115F, U+1160, U+3164, U+FFA0), or the Braille blank U+2800. Text made
// only of these is empty_text.
func isBlank(r rune) bool {
	if r < utf8.RuneSelf {
		return r <= ' ' || r == 0x7f
	}
	return unicode.IsSpace(r) || unicode.Is(unicode.Cc, r) || r == 0x2800 || defaultIgnorable(r)
}

// defaultIgnorable is Unicode's derived Default_Ignorable_Code_Point:
// Other_Default_Ignorable_Code_Point, format characters (Cf) and variation
// selectors, less the format characters that are drawn (the interlinear
// annotation marks, the Egyptian hieroglyph format controls and the
// prepended concatenation marks such as U+0600 ARABIC NUMBER SIGN).
func defaultIgnorable(r rune) bool {
	if (r >= 0xfff9 && r <= 0xfffb) || (r >= 0x13430 && r <= 0x1343f) || unicode.Is(unicode.Prepended_Concatenation_Mark, r) {
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
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

// TimeLayout is how every time reaches a client (REST and WebSocket): UTC,
// always three fractional digits, so times sort as strings and parse as
// RFC 3339 ("2026-12-02T17:01:14.070Z").
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// FormatTime renders t in TimeLayout, in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// AppendTime appends t as FormatTime writes it.
func AppendTime(b []byte, t time.Time) []byte { return t.UTC().AppendFormat(b, TimeLayout) }
