package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

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

// Conversations implements projections.Reader. A user's conversation rows
// are read and ordered in memory, newest last message first (as the
// Cassandra store does): a user has tens or hundreds of conversations,
// and keeping a sorted index instead cost every message four more writes.
// The cursor is the (^last_at, peer) key of the last row of the page.
func (v *Views) Conversations(_ context.Context, user domain.UserID, p projections.Page) ([]projections.Conversation, []byte, error) {
	l := listing{domain.CursorConversations, user, ""}
	after, err := openPage(l, p)
	if err != nil {
		return nil, nil, err
	}
	prefix := []byte(userPrefix(user) + "c/")
	it, err := v.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, nil, err
	}
	type row struct {
		order []byte // ^last_at, peer
		peer  domain.UserID
		c     storedConversation
	}
	var rows []row
	for ok := it.First(); ok; ok = it.Next() {
		c, err := decodeConversation(it.Value())
		if err != nil {
			_ = it.Close()
			return nil, nil, fmt.Errorf("decode conversation: %w", err)
		}
		peer := domain.UserID(it.Key()[len(prefix):])
		order := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(peer)), ^uint64(c.LastAt.UnixNano()))
		rows = append(rows, row{order: append(order, peer...), peer: peer, c: c})
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(rows, func(a, b row) int { return bytes.Compare(a.order, b.order) })
	var (
		out       []projections.Conversation
		lastOrder []byte
	)
	for _, r := range rows {
		if after != nil && bytes.Compare(r.order, after) <= 0 {
			continue
		}
		if len(out) == p.Limit {
			return out, domain.SealCursor(l.kind, l.user, l.peer, lastOrder), nil
		}
		lastOrder = r.order
		last, err := v.loadMessage(cached{v}, user, domain.MessageID(r.c.LastID))
		if err != nil {
			return nil, nil, fmt.Errorf("read last message of %s: %w", r.peer, err)
		}
		lm := last.message()
		if lm.Hidden { // the user deleted it for themself (views_edits.go)
			var ok bool
			if lm, ok, err = v.visibleLast(user, r.peer); err != nil {
				return nil, nil, fmt.Errorf("read last message of %s: %w", r.peer, err)
			} else if !ok {
				continue
			}
		}
		out = append(out, projections.Conversation{Peer: r.peer, Last: lm, Unread: r.c.Unread})
	}
	return out, nil, nil
}

// openPage checks p for listing l and returns the key suffix its cursor
// names (nil for the first page). Every cursor of this store is the
// listing's envelope (domain.SealCursor) around a key suffix of 8 bytes (a
// time) and an id; any other cursor, also one of another listing, is
// refused with CodeInvalidCursor.
func openPage(l listing, p projections.Page) ([]byte, error) {
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
	return after, nil
}

// scan calls fn with the suffix (after prefix) of up to p.Limit keys,
// starting after the cursor p.After, and returns the cursor of the next
// page, or nil when no key is left. Cursors are checked by openPage.
func scan(db *pebble.DB, l listing, prefix []byte, p projections.Page, reverse bool, fn func(suffix []byte) error) ([]byte, error) {
	after, err := openPage(l, p)
	if err != nil {
		return nil, err
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
