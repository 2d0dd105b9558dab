package embedded

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// applyReadUpTo moves the reader's marker in the conversation with e.From
// forward to e.ID: every inbox entry of a message from e.From at or before
// it leaves the inbox and the unread count. The reader's feed gets the
// item that tells the other devices whether or not the marker moved; a
// marker that does not move (a repeat, an older marker after a newer one)
// changes no other row. Only
// this event pays for the scan of the reader's inbox; MessageSent and
// MessageRead learn of the marker from the conversation row they read
// anyway (bumpConversation).
func (v *Views) applyReadUpTo(b *txn, e domain.ConversationRead, u domain.UserID, pos domain.Position) (projections.FeedItem, bool, error) {
	if u != e.To {
		return projections.FeedItem{}, false, nil
	}
	key := convKey(u, e.From)
	var c storedConversation
	raw, err := b.getRow(key)
	switch {
	case err == nil:
		if c, err = decodeConversation(raw); err != nil {
			return projections.FeedItem{}, false, fmt.Errorf("decode conversation: %w", err)
		}
	case !errors.Is(err, pebble.ErrNotFound):
		return projections.FeedItem{}, false, err
	}
	if domain.ReadUpTo(e.ID, domain.MessageID(c.UpTo)) {
		// Still told to the devices, like every ConversationRead (a
		// store that does not read, Cassandra, cannot tell): they keep
		// the highest marker.
		return putFeed(b, e, pos)
	}
	keys, err := v.inboxKeys(b, u)
	if err != nil {
		return projections.FeedItem{}, false, err
	}
	removed := 0
	for _, k := range keys {
		id := domain.MessageID(k[len(userPrefix(u))+2+8:])
		if !domain.ReadUpTo(id, e.ID) {
			continue
		}
		sm, err := v.loadMessage(b, u, id)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return projections.FeedItem{}, false, err
		}
		if domain.UserID(sm.From) != e.From {
			continue
		}
		_ = b.Delete(k, nil)
		removed++
	}
	c.UpTo = string(e.ID)
	c.Unread = max(c.Unread-removed, 0)
	if err := b.setRow(key, encodeConversation(c)); err != nil {
		return projections.FeedItem{}, false, err
	}
	return putFeed(b, e, pos)
}

// inboxKeys returns the keys of u's inbox entries as b sees them: the
// database's, with b's own writes applied over them.
func (v *Views) inboxKeys(b *txn, u domain.UserID) ([][]byte, error) {
	prefix := []byte(userPrefix(u) + "u/")
	upper := append(append([]byte(nil), prefix[:len(prefix)-1]...), '/'+1)
	it, err := v.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	seen := map[string]bool{}
	var out [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		k := string(it.Key())
		seen[k] = true
		if val, written := b.over[k]; written && val == nil {
			continue // deleted by this batch
		}
		out = append(out, []byte(k))
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("scan inbox of %s: %w", u, err)
	}
	for k, val := range b.over {
		if val != nil && !seen[k] && bytes.HasPrefix([]byte(k), prefix) {
			out = append(out, []byte(k))
		}
	}
	return out, nil
}
