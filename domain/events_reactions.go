package domain

import (
	"time"
	"unicode/utf8"
)

// TypeMessageReacted is the event type of a reaction (issue 12). Stored
// forever: never rename it.
const TypeMessageReacted = "MessageReacted"

// MessageReacted records that By, a party of the message, set its reaction
// to Emoji, or removed it (Emoji ""). A user has at most one reaction per
// message; the latest (by At) wins. Version is the version of the text the
// reaction answers: after an edit an older reaction shows as answering
// the earlier version, never as endorsing the new text. Keyed by the
// recipient like every event of the message.
type MessageReacted struct {
	ID      MessageID `json:"id"`
	From    UserID    `json:"from"`
	To      UserID    `json:"to"`
	SentAt  time.Time `json:"sent_at"`
	By      UserID    `json:"by"`
	Emoji   string    `json:"emoji"`
	Version int       `json:"version"`
	At      time.Time `json:"at"`
}

func (e MessageReacted) Type() string       { return TypeMessageReacted }
func (e MessageReacted) Key() UserID        { return e.To }
func (e MessageReacted) Message() MessageID { return e.ID }

// Reaction is one party's reaction to a message as the views hold it.
// Version is the text's version it answered; it is stale when the message
// has a later version. (Its time stays in the stores: the latest wins.)
type Reaction struct {
	By      UserID
	Emoji   string
	Version int
}

// Limits of a reaction's emoji. Part of the API contract.
const (
	MaxEmojiBytes = 32
	MaxEmojiRunes = 10
)

// CodeInvalidEmoji: a reaction that is not one emoji (400).
const CodeInvalidEmoji Code = "invalid_emoji"

// ValidateEmoji checks that s is one emoji, as a bounded, conservative
// grapheme check: valid UTF-8, at most MaxEmojiBytes bytes and
// MaxEmojiRunes code points, starting with a pictographic symbol (or a
// keycap base 0-9 # * followed by U+20E3), and continued only by what
// extends one emoji: variation selectors U+FE0E/U+FE0F, skin tones
// U+1F3FB..U+1F3FF, the keycap U+20E3, tags U+E0020..U+E007F, and a
// pictographic symbol only right after a zero-width joiner U+200D; a flag
// is exactly two regional indicators.
func ValidateEmoji(s string) error {
	bad := Errorf(CodeInvalidEmoji, "emoji must be one emoji (at most %d bytes)", MaxEmojiBytes)
	if s == "" || len(s) > MaxEmojiBytes || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxEmojiRunes {
		return bad
	}
	rs := []rune(s)
	first := rs[0]
	switch {
	case regional(first):
		if len(rs) != 2 || !regional(rs[1]) {
			return bad
		}
		return nil
	case first >= '0' && first <= '9' || first == '#' || first == '*':
		if rs[len(rs)-1] != 0x20E3 || len(rs) > 3 || (len(rs) == 3 && rs[1] != 0xFE0F) {
			return bad
		}
		return nil
	case !pictographic(first):
		return bad
	}
	for i := 1; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == 0xFE0E || r == 0xFE0F || (r >= 0x1F3FB && r <= 0x1F3FF) || (r >= 0xE0020 && r <= 0xE007F):
		case r == 0x200D:
			if i+1 >= len(rs) || !pictographic(rs[i+1]) {
				return bad
			}
			i++
		default:
			return bad
		}
	}
	return nil
}

func regional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// pictographic reports whether r is in the blocks emoji are drawn from
// (Unicode's Extended_Pictographic, approximated by its blocks).
func pictographic(r rune) bool {
	switch {
	case r >= 0x1F000 && r <= 0x1FAFF && !regional(r) && !(r >= 0x1F3FB && r <= 0x1F3FF):
	case r >= 0x2600 && r <= 0x27BF, r >= 0x2B00 && r <= 0x2BFF, r >= 0x2190 && r <= 0x21FF, r >= 0x2300 && r <= 0x23FF:
	case r >= 0x25A0 && r <= 0x25FF, r >= 0x2900 && r <= 0x297F:
	case r == 0x00A9, r == 0x00AE, r == 0x203C, r == 0x2049, r == 0x2122, r == 0x2139, r == 0x24C2, r == 0x3030, r == 0x303D, r == 0x3297, r == 0x3299:
	default:
		return false
	}
	return true
}
