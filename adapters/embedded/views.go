package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
//	v/<user>/f/<partition><offset>      feed item (see feed.go)
//	v/<user>/e/<id>/<version>           a version of an edited message (views_edits.go)
//	v/<user>/r/<id>/<status>            receipt already in the feed (rows
//	                                    of version 1 only; later rows say it)
//	v/~pos/<partition>                  highest applied offset
//	v/~sent                             highest send time applied (views_fresh.go)
//
// <sent_at> is 8 bytes of big-endian Unix nanoseconds, so keys sort by time,
// then by id. The rows of a batch of changes are written in one Pebble batch under the store's apply lock (views_apply.go), so
// each apply is atomic and idempotent, and the applied positions are in
// the same batch as the rows they cover.
type Views struct {
	db    *pebble.DB
	mu    sync.Mutex  // serialises applies: their read-modify-writes and positions
	cache *rowCache   // message and conversation rows (views_cache.go)
	fresh *freshSends // under mu; nil until the first apply (views_fresh.go)
}

func newViews(db *pebble.DB) *Views { return &Views{db: db, cache: newRowCache(cachedRows)} }

type storedMessage struct {
	ID          string    `json:"id"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	Text        string    `json:"text"`
	ClientMsgID string    `json:"cmid,omitempty"`
	SentAt      time.Time `json:"sent_at"`
	Status      uint8     `json:"status"`
	// Fed has bit 1<<s set once the receipt of status s is in the sender's
	// feed. Where it is unset a receipt marker (receiptKey) may tell
	// instead: rows of version 1 (and JSON, Legacy) and receipts applied
	// before their message was.
	Fed         uint8     `json:"-"`
	Legacy      bool      `json:"-"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	ReadAt      time.Time `json:"read_at,omitzero"`
	// Edits and deletes (views_edits.go); rows with any of them set are
	// of version 3 (codec.go).
	Edits rowEdits `json:"-"`
}

type storedConversation struct {
	LastID string    `json:"last_id"`
	LastAt time.Time `json:"last_at"`
	Unread int       `json:"unread"`
	// UpTo is the reader's "read up to" marker in the conversation
	// (domain.ConversationRead): no message at or before it is unread.
	UpTo string `json:"up_to,omitempty"`
}

func toStored(m domain.Message) storedMessage {
	return storedMessage{ID: string(m.ID), From: string(m.From), To: string(m.To), Text: m.Text, ClientMsgID: m.ClientMsgID,
		SentAt: m.SentAt, Status: uint8(m.Status), DeliveredAt: m.DeliveredAt, ReadAt: m.ReadAt, Edits: editsOf(m)}
}

func (s storedMessage) message() domain.Message {
	return domain.Message{ID: domain.MessageID(s.ID), From: domain.UserID(s.From), To: domain.UserID(s.To), Text: s.Text,
		ClientMsgID: s.ClientMsgID, SentAt: s.SentAt.UTC(), Status: domain.Status(s.Status),
		DeliveredAt: s.DeliveredAt.UTC(), ReadAt: s.ReadAt.UTC(),
		Version: s.Edits.Version, EditedAt: s.Edits.EditedAt, Deleted: s.Edits.Deleted, DeletedAt: s.Edits.DeletedAt, Hidden: s.Edits.Hidden,
		ReplyTo: domain.MessageID(s.Edits.ReplyTo), ReplyVersion: s.Edits.ReplyVersion,
		Reactions: s.Edits.reactions(domain.UserID(s.From), domain.UserID(s.To))}
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

func posKey(partition int32) []byte {
	return binary.BigEndian.AppendUint32([]byte("v/~pos/"), uint32(partition))
}

func (v *Views) loadMessage(g getter, u domain.UserID, id domain.MessageID) (storedMessage, error) {
	var (
		raw []byte
		err error
	)
	if t, ok := g.(*txn); ok {
		raw, err = t.getRow(msgKey(u, id))
	} else {
		raw, err = get(g, msgKey(u, id))
	}
	if errors.Is(err, pebble.ErrNotFound) {
		return storedMessage{}, domain.ErrNotFound
	}
	if err != nil {
		return storedMessage{}, err
	}
	m, err := decodeMessage(raw)
	if err != nil {
		return storedMessage{}, fmt.Errorf("decode message %s: %w", id, err)
	}
	return m, nil
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
	v.mu.Lock()
	defer v.mu.Unlock()
	defer v.cache.clear()
	if err := v.db.DeleteRange([]byte("v/"), prefixEnd([]byte("v/")), pebble.Sync); err != nil {
		return fmt.Errorf("drop views: %w", err)
	}
	if v.fresh != nil {
		v.fresh.reset()
	}
	return nil
}

// cached reads the views' committed rows through the row cache (queries).
type cached struct{ v *Views }

// Get implements getter.
func (c cached) Get(key []byte) ([]byte, io.Closer, error) {
	if val, known := c.v.cache.get(key); known {
		if val == nil {
			return nil, nil, pebble.ErrNotFound
		}
		return val, io.NopCloser(nil), nil
	}
	return c.v.db.Get(key)
}
