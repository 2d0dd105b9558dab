package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// Message implements projections.Reader.
func (v *Views) Message(_ context.Context, user domain.UserID, id domain.MessageID) (domain.Message, error) {
	sm, err := v.loadMessage(cached{v}, user, id)
	if err != nil {
		return domain.Message{}, err
	}
	return sm.message(), nil
}

// Unread implements projections.Reader.
func (v *Views) Unread(_ context.Context, user domain.UserID, p projections.Page) ([]domain.Message, []byte, error) {
	prefix := []byte(userPrefix(user) + "u/")
	return scanMessages(v, listing{domain.CursorUnread, user, ""}, prefix, p, false)
}

// History implements projections.Reader.
func (v *Views) History(_ context.Context, user, peer domain.UserID, p projections.Page) ([]domain.Message, []byte, error) {
	return scanMessages(v, listing{domain.CursorHistory, user, peer}, historyPrefix(user, peer), p, true)
}

// listing names what a scan pages through; its cursors name it too
// (domain.SealCursor), so a cursor of another listing is refused.
type listing struct {
	kind       domain.CursorKind
	user, peer domain.UserID
}

// scanMessages walks index keys under prefix whose suffix is timeID,
// loading each message. The cursor holds the suffix of the last key
// returned.
func scanMessages(v *Views, l listing, prefix []byte, p projections.Page, reverse bool) ([]domain.Message, []byte, error) {
	user := l.user
	var out []domain.Message
	next, err := scan(v.db, l, prefix, p, reverse, func(suffix []byte) error {
		if len(suffix) < 9 {
			return fmt.Errorf("corrupt index key under %q", prefix)
		}
		sm, err := v.loadMessage(v.db, user, domain.MessageID(suffix[8:]))
		if err != nil {
			return err
		}
		out = append(out, sm.message())
		return nil
	})
	return out, next, err
}

// Conversations implements projections.Reader.
func (v *Views) Conversations(_ context.Context, user domain.UserID, p projections.Page) ([]projections.Conversation, []byte, error) {
	var out []projections.Conversation
	l := listing{domain.CursorConversations, user, ""}
	next, err := scan(v.db, l, []byte(userPrefix(user)+"l/"), p, false, func(suffix []byte) error {
		if len(suffix) < 9 {
			return errors.New("corrupt conversation list key")
		}
		peer := domain.UserID(suffix[8:])
		raw, err := get(v.db, convKey(user, peer))
		if err != nil {
			return fmt.Errorf("read conversation %s: %w", peer, err)
		}
		c, err := decodeConversation(raw)
		if err != nil {
			return fmt.Errorf("decode conversation %s: %w", peer, err)
		}
		last, err := v.loadMessage(v.db, user, domain.MessageID(c.LastID))
		if err != nil {
			return fmt.Errorf("read last message of %s: %w", peer, err)
		}
		out = append(out, projections.Conversation{Peer: peer, Last: last.message(), Unread: c.Unread})
		return nil
	})
	return out, next, err
}

// scan calls fn with the suffix (after prefix) of up to p.Limit keys,
// starting after the cursor p.After, and returns the cursor of the next
// page, or nil when no key is left.
//
// Every cursor of this store is the listing l's envelope
// (domain.SealCursor) around a key suffix of 8 bytes (a time) and an id;
// any other cursor, also one of another listing, is refused with
// CodeInvalidCursor.
func scan(db *pebble.DB, l listing, prefix []byte, p projections.Page, reverse bool, fn func(suffix []byte) error) ([]byte, error) {
	var after []byte
	if p.After != nil {
		var err error
		if after, err = domain.OpenCursor(l.kind, l.user, l.peer, p.After); err != nil {
			return nil, err
		}
		if len(after) != 8+26 || !domain.ValidID(string(after[8:])) {
			return nil, domain.Errorf(domain.CodeInvalidCursor, "cursor is not one this server gave out")
		}
	}
	if p.Limit < 1 {
		return nil, domain.Errorf(domain.CodeInvalidLimit, "limit must be at least 1")
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var ok bool
	switch {
	case after == nil && !reverse:
		ok = it.First()
	case after == nil:
		ok = it.Last()
	case !reverse:
		ok = it.SeekGE(append(append([]byte(nil), prefix...), after...))
		if ok && bytes.Equal(it.Key()[len(prefix):], after) {
			ok = it.Next()
		}
	default:
		ok = it.SeekLT(append(append([]byte(nil), prefix...), after...))
	}
	n := 0
	var last []byte
	for ; ok; ok = step(it, reverse) {
		if n == p.Limit {
			return domain.SealCursor(l.kind, l.user, l.peer, last), it.Error()
		}
		suffix := append([]byte(nil), it.Key()[len(prefix):]...)
		if err := fn(suffix); err != nil {
			return nil, err
		}
		last = suffix
		n++
	}
	return nil, it.Error()
}

func step(it *pebble.Iterator, reverse bool) bool {
	if reverse {
		return it.Prev()
	}
	return it.Next()
}
