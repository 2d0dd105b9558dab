package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// Feed rows: v/<user>/f/<partition:4><offset:8> → storedFeedItem,
// v/<user>/r/<id>/<status> marks a receipt already in the feed, and
// v/<user>/g/<partition:4> → offset:8 is the offset of the user's first
// feed item ever in that partition (see FeedKept).

type storedFeedItem struct {
	Kind   uint8     `json:"k"`
	ID     string    `json:"id"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to,omitempty"`
	SentAt time.Time `json:"sent_at,omitzero"`
	Status uint8     `json:"s,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

func feedPrefix(u domain.UserID) []byte { return []byte(userPrefix(u) + "f/") }

func feedKey(u domain.UserID, pos domain.Position) []byte {
	b := binary.BigEndian.AppendUint32(feedPrefix(u), uint32(pos.Partition))
	return binary.BigEndian.AppendUint64(b, uint64(pos.Offset))
}

func receiptKey(u domain.UserID, id domain.MessageID, s domain.Status) []byte {
	return []byte(fmt.Sprintf("%sr/%s/%d", userPrefix(u), id, s))
}

func feedFirstKey(u domain.UserID, part int32) []byte {
	return binary.BigEndian.AppendUint32([]byte(userPrefix(u)+"g/"), uint32(part))
}

// putFeed writes the feed item ev makes at pos into b and returns it.
func putFeed(b *txn, ev domain.Event, pos domain.Position) (projections.FeedItem, bool, error) {
	user, item, ok := projections.FeedItemOf(ev, pos)
	if !ok {
		return projections.FeedItem{}, false, nil
	}
	// The first item ever is recorded once (a cached row: one lookup in
	// memory per item after the first).
	fk := feedFirstKey(user, pos.Partition)
	if _, err := b.getRow(fk); errors.Is(err, pebble.ErrNotFound) {
		if err := b.setRow(fk, binary.BigEndian.AppendUint64(nil, uint64(pos.Offset))); err != nil {
			return projections.FeedItem{}, false, err
		}
	} else if err != nil {
		return projections.FeedItem{}, false, fmt.Errorf("read first feed offset: %w", err)
	}
	m := item.Message
	raw := encodeFeedItem(storedFeedItem{Kind: uint8(item.Kind), ID: string(m.ID), From: string(m.From), To: string(m.To),
		SentAt: m.SentAt, Status: uint8(item.Status), At: item.At})
	return item, true, b.Set(feedKey(user, pos), raw, nil)
}

// Feed implements projections.Reader.
func (v *Views) Feed(_ context.Context, user domain.UserID, after domain.Position, limit int) ([]projections.FeedItem, error) {
	prefix := feedPrefix(user)
	lower := feedKey(user, domain.Position{Partition: after.Partition, Offset: after.Offset + 1})
	upper := binary.BigEndian.AppendUint32(append([]byte(nil), prefix...), uint32(after.Partition)+1)
	it, err := v.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []projections.FeedItem
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		k := it.Key()[len(prefix):]
		if len(k) != 12 {
			return nil, errors.New("corrupt feed key")
		}
		s, err := decodeFeedItem(it.Value())
		if err != nil {
			return nil, fmt.Errorf("decode feed item: %w", err)
		}
		item := projections.FeedItem{
			Cursor: domain.Position{Partition: int32(binary.BigEndian.Uint32(k)), Offset: int64(binary.BigEndian.Uint64(k[4:]))},
			Kind:   projections.FeedKind(s.Kind), Status: domain.Status(s.Status), At: s.At.UTC(),
			Message: domain.Message{ID: domain.MessageID(s.ID), From: domain.UserID(s.From), To: domain.UserID(s.To), SentAt: s.SentAt.UTC()},
		}
		if item.Kind.CarriesMessage() {
			sm, err := v.loadMessage(v.db, user, item.Message.ID)
			if err != nil {
				return nil, fmt.Errorf("feed message %s: %w", s.ID, err)
			}
			item.Message = sm.message()
		}
		out = append(out, item)
	}
	return out, it.Error()
}

// FeedKept implements projections.Reader.
func (v *Views) FeedKept(ctx context.Context, user domain.UserID, after domain.Position) (bool, error) {
	oldest, err := v.Feed(ctx, user, domain.Position{Partition: after.Partition, Offset: -1}, 1)
	if err != nil {
		return false, err
	}
	raw, err := get(v.db, feedFirstKey(user, after.Partition))
	first := int64(-1)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return false, fmt.Errorf("read first feed offset of %s: %w", user, err)
	case len(raw) != 8:
		return false, errors.New("corrupt first feed offset")
	default:
		first = int64(binary.BigEndian.Uint64(raw))
	}
	return projections.FeedKeptRule(oldest, first, after), nil
}
