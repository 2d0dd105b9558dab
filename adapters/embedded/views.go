package embedded

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

var _ projections.Store = (*Views)(nil)

// Views implements projections.Store on Pebble. Every row key starts with
// "v/<user>/", so each user's rows are contiguous:
//
//	v/<user>/m/<id>                     message as the user sees it (JSON)
//	v/<user>/u/<sent_at><id>            unread inbox entry (recipient only)
//	v/<user>/h/<peer>/<sent_at><id>     conversation history entry
//	v/<user>/c/<peer>                   conversation row (JSON)
//	v/<user>/l/<^last_at><peer>         conversation list, newest first
//	v/<user>/f/<partition><offset>      feed item (see feed.go)
//	v/<user>/r/<id>/<status>            receipt already in the feed
//	v/~pos/<partition>                  highest applied offset
//
// <sent_at> is 8 bytes of big-endian Unix nanoseconds, so keys sort by time,
// then by id. One user's rows of one event are written in one synced batch
// under that user's lock, which makes each Apply atomic and idempotent.
type Views struct {
	db    *pebble.DB
	locks [64]sync.Mutex
	posMu sync.Mutex
}

func newViews(db *pebble.DB) *Views { return &Views{db: db} }

type storedMessage struct {
	ID          string    `json:"id"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	Text        string    `json:"text"`
	ClientMsgID string    `json:"cmid,omitempty"`
	SentAt      time.Time `json:"sent_at"`
	Status      uint8     `json:"status"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	ReadAt      time.Time `json:"read_at,omitzero"`
}

type storedConversation struct {
	LastID string    `json:"last_id"`
	LastAt time.Time `json:"last_at"`
	Unread int       `json:"unread"`
}

func toStored(m domain.Message) storedMessage {
	return storedMessage{ID: string(m.ID), From: string(m.From), To: string(m.To), Text: m.Text, ClientMsgID: m.ClientMsgID,
		SentAt: m.SentAt, Status: uint8(m.Status), DeliveredAt: m.DeliveredAt, ReadAt: m.ReadAt}
}

func (s storedMessage) message() domain.Message {
	return domain.Message{ID: domain.MessageID(s.ID), From: domain.UserID(s.From), To: domain.UserID(s.To), Text: s.Text,
		ClientMsgID: s.ClientMsgID, SentAt: s.SentAt.UTC(), Status: domain.Status(s.Status),
		DeliveredAt: s.DeliveredAt.UTC(), ReadAt: s.ReadAt.UTC()}
}

func userPrefix(u domain.UserID) string { return "v/" + string(u) + "/" }

func msgKey(u domain.UserID, id domain.MessageID) []byte {
	return []byte(userPrefix(u) + "m/" + string(id))
}

// timeID is the sortable (sent_at, id) suffix of inbox and history keys.
func timeID(t time.Time, id domain.MessageID) []byte {
	b := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(b, uint64(t.UnixNano()))
	return append(b, id...)
}

func unreadKey(u domain.UserID, t time.Time, id domain.MessageID) []byte {
	return append([]byte(userPrefix(u)+"u/"), timeID(t, id)...)
}

func historyPrefix(u, peer domain.UserID) []byte {
	return []byte(userPrefix(u) + "h/" + string(peer) + "/")
}

func convKey(u, peer domain.UserID) []byte { return []byte(userPrefix(u) + "c/" + string(peer)) }

func listKey(u domain.UserID, lastAt time.Time, peer domain.UserID) []byte {
	b := []byte(userPrefix(u) + "l/")
	b = binary.BigEndian.AppendUint64(b, ^uint64(lastAt.UnixNano()))
	return append(b, peer...)
}

func posKey(partition int32) []byte {
	return binary.BigEndian.AppendUint32([]byte("v/~pos/"), uint32(partition))
}

// lock takes the lock of user u and returns the unlock function.
func (v *Views) lock(u domain.UserID) func() {
	l := &v.locks[stripe(u)]
	l.Lock()
	return l.Unlock
}

func stripe(u domain.UserID) int {
	h := fnv.New32a()
	h.Write([]byte(u))
	return int(h.Sum32() % 64)
}

func (v *Views) loadMessage(g getter, u domain.UserID, id domain.MessageID) (storedMessage, error) {
	raw, err := get(g, msgKey(u, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return storedMessage{}, domain.ErrNotFound
	}
	if err != nil {
		return storedMessage{}, err
	}
	var m storedMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return storedMessage{}, fmt.Errorf("decode message %s: %w", id, err)
	}
	return m, nil
}

// RecordPosition implements projections.Store. Apply methods commit
// without waiting for the disk; RecordPosition syncs the write-ahead log,
// which makes every write before it durable: one fsync per event instead
// of one per party (concurrent partitions share it, as Pebble groups
// commits).
func (v *Views) RecordPosition(_ context.Context, pos domain.Position) error {
	v.posMu.Lock()
	defer v.posMu.Unlock()
	cur, err := get(v.db, posKey(pos.Partition))
	if err != nil && !errors.Is(err, pebble.ErrNotFound) {
		return err
	}
	if err == nil && int64(binary.BigEndian.Uint64(cur)) >= pos.Offset {
		return v.Flush(context.Background())
	}
	return v.db.Set(posKey(pos.Partition), binary.BigEndian.AppendUint64(nil, uint64(pos.Offset)), pebble.Sync)
}

// Flush implements projections.Store: it syncs the write-ahead log.
func (v *Views) Flush(context.Context) error { return v.db.LogData(nil, pebble.Sync) }

// ApplySent implements projections.Store: user's copy of the message, the
// history entry, the conversation row, and for the recipient the inbox
// entry and the feed item, in one synced batch.
func (v *Views) ApplySent(_ context.Context, e domain.MessageSent, u domain.UserID, pos domain.Position) error {
	defer v.lock(u)()
	b := v.db.NewIndexedBatch()
	defer b.Close()
	if _, err := v.loadMessage(b, u, e.ID); err == nil {
		return nil // already applied
	} else if !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	m := e.AsMessage()
	raw, err := json.Marshal(toStored(m))
	if err != nil {
		return err
	}
	peer := m.Peer(u)
	_ = b.Set(msgKey(u, m.ID), raw, nil)
	_ = b.Set(append(historyPrefix(u, peer), timeID(m.SentAt, m.ID)...), nil, nil)
	unread := 0
	if u == e.To {
		_ = b.Set(unreadKey(u, m.SentAt, m.ID), nil, nil)
		unread = 1
		if err := putFeed(b, e, pos); err != nil {
			return err
		}
	}
	if err := v.bumpConversation(b, u, peer, m, unread); err != nil {
		return err
	}
	return b.Commit(pebble.NoSync)
}

// bumpConversation adds delta to the unread count of (u, peer) and makes m
// its last message if m is newer than the current one.
func (v *Views) bumpConversation(b *pebble.Batch, u, peer domain.UserID, m domain.Message, delta int) error {
	var c storedConversation
	raw, err := get(b, convKey(u, peer))
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("decode conversation: %w", err)
		}
	case !errors.Is(err, pebble.ErrNotFound):
		return err
	}
	c.Unread += delta
	if c.Unread < 0 {
		c.Unread = 0
	}
	if c.LastID == "" || newer(m.SentAt, string(m.ID), c.LastAt, c.LastID) {
		if c.LastID != "" {
			_ = b.Delete(listKey(u, c.LastAt, peer), nil)
		}
		c.LastID, c.LastAt = string(m.ID), m.SentAt
		_ = b.Set(listKey(u, c.LastAt, peer), nil, nil)
	}
	out, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return b.Set(convKey(u, peer), out, nil)
}

func newer(t time.Time, id string, than time.Time, thanID string) bool {
	if !t.Equal(than) {
		return t.After(than)
	}
	return id > thanID
}

// ApplyDelivered implements projections.Store.
func (v *Views) ApplyDelivered(_ context.Context, e domain.MessageDelivered, u domain.UserID, _ domain.Position) error {
	return v.advance(u, e.ID, func(m *storedMessage) bool {
		if m.Status >= uint8(domain.StatusDelivered) {
			return false
		}
		m.Status, m.DeliveredAt = uint8(domain.StatusDelivered), e.DeliveredAt
		return true
	}, nil)
}

// ApplyRead implements projections.Store. For the recipient it also drops
// the inbox entry and the unread count, and adds the feed item.
func (v *Views) ApplyRead(_ context.Context, e domain.MessageRead, u domain.UserID, pos domain.Position) error {
	return v.advance(u, e.ID, func(m *storedMessage) bool {
		if m.Status >= uint8(domain.StatusRead) {
			return false
		}
		m.Status, m.ReadAt = uint8(domain.StatusRead), e.ReadAt
		if m.DeliveredAt.IsZero() {
			m.DeliveredAt = e.ReadAt
		}
		return true
	}, func(b *pebble.Batch, m domain.Message) error {
		if u != m.To {
			return nil
		}
		_ = b.Delete(unreadKey(m.To, m.SentAt, m.ID), nil)
		if err := putFeed(b, e, pos); err != nil {
			return err
		}
		return v.bumpConversation(b, m.To, m.From, m, -1)
	})
}

// advance moves user u's copy of a message forward. step changes the
// message and reports whether anything changed; then (may be nil) writes
// the other rows of a change.
func (v *Views) advance(u domain.UserID, id domain.MessageID,
	step func(*storedMessage) bool, then func(*pebble.Batch, domain.Message) error) error {
	defer v.lock(u)()
	b := v.db.NewIndexedBatch()
	defer b.Close()
	sm, err := v.loadMessage(b, u, id)
	if errors.Is(err, domain.ErrNotFound) {
		// The log keeps a message's events in order, so its MessageSent
		// was never appended: there is nothing to update.
		return nil
	}
	if err != nil {
		return err
	}
	if !step(&sm) {
		return nil
	}
	raw, err := json.Marshal(sm)
	if err != nil {
		return err
	}
	_ = b.Set(msgKey(u, id), raw, nil)
	if then != nil {
		if err := then(b, sm.message()); err != nil {
			return err
		}
	}
	return b.Commit(pebble.NoSync)
}

// AppliedPositions implements projections.Store.
func (v *Views) AppliedPositions(context.Context) (map[int32]int64, error) {
	prefix := []byte("v/~pos/")
	it, err := v.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := map[int32]int64{}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()[len(prefix):]
		out[int32(binary.BigEndian.Uint32(k))] = int64(binary.BigEndian.Uint64(it.Value()))
	}
	return out, it.Error()
}

// Reset implements projections.Store.
func (v *Views) Reset(context.Context) error {
	if err := v.db.DeleteRange([]byte("v/"), prefixEnd([]byte("v/")), pebble.Sync); err != nil {
		return fmt.Errorf("drop views: %w", err)
	}
	return nil
}
