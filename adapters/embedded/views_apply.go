package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// ApplyBatch implements projections.Store: every change and the positions
// go into one Pebble batch, committed without waiting for the disk (the
// event log is the durable truth; after a crash the recorded positions
// say where to resume, and they are in the same atomic write as the rows
// they cover). Applies are serialised by the store's lock, so the
// read-modify-writes of a user's rows written from two partitions (the
// sender's rows come from the recipient's partition) never interleave.
func (v *Views) ApplyBatch(_ context.Context, changes []projections.Change, positions map[int32]int64) ([]projections.FeedItem, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.fresh == nil {
		f, err := newFreshSends(v.db, freshGeneration, time.Now())
		if err != nil {
			return nil, fmt.Errorf("read views' send floor: %w", err)
		}
		v.fresh = f
	}
	b := newTxn(v.db, v.cache, 4*len(changes))
	defer b.close()
	var fed []projections.FeedItem
	for _, c := range changes {
		item, ok, err := v.apply(b, c)
		if err != nil {
			return nil, fmt.Errorf("apply %s %s for %s at %s: %w", c.Event.Type(), c.Event.Message(), c.User, c.Pos, err)
		}
		if ok {
			fed = append(fed, item)
		}
	}
	for p, off := range positions {
		if err := recordPosition(b, p, off); err != nil {
			return nil, err
		}
	}
	floorKeys, floors := v.fresh.unsaved()
	for i, k := range floorKeys {
		_ = b.Set(k, binary.BigEndian.AppendUint64(nil, uint64(floors[i])), nil)
	}
	if len(b.over) == 0 {
		return fed, nil
	}
	if err := b.commit(pebble.NoSync); err != nil {
		return nil, fmt.Errorf("commit views batch: %w", err)
	}
	v.fresh.saved(floorKeys, floors)
	return fed, nil
}

// RecordPosition implements projections.Store: it records pos and syncs
// the write-ahead log, which makes every write before it durable.
func (v *Views) RecordPosition(_ context.Context, pos domain.Position) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	b := newTxn(v.db, v.cache, 1)
	defer b.close()
	if err := recordPosition(b, pos.Partition, pos.Offset); err != nil {
		return err
	}
	return b.commit(pebble.Sync)
}

// Flush implements projections.Store: it syncs the write-ahead log.
func (v *Views) Flush(context.Context) error { return v.db.LogData(nil, pebble.Sync) }

// recordPosition sets partition's applied offset to off unless it is
// already higher.
func recordPosition(b *txn, partition int32, off int64) error {
	cur, err := get(b, posKey(partition))
	if err != nil && !errors.Is(err, pebble.ErrNotFound) {
		return err
	}
	if err == nil && int64(binary.BigEndian.Uint64(cur)) >= off {
		return nil
	}
	return b.Set(posKey(partition), binary.BigEndian.AppendUint64(nil, uint64(off)), nil)
}

// apply writes c's rows into b and returns the feed item it wrote, if any.
func (v *Views) apply(b *txn, c projections.Change) (projections.FeedItem, bool, error) {
	switch e := c.Event.(type) {
	case domain.MessageSent:
		return v.applySent(b, e, c.User, c.Pos)
	case domain.MessageDelivered:
		_, err := v.advance(b, c.User, e.ID, domain.StatusDelivered, e.DeliveredAt)
		return projections.FeedItem{}, false, err
	case domain.MessageRead:
		changed, err := v.advance(b, c.User, e.ID, domain.StatusRead, e.ReadAt)
		if err != nil || !changed || c.User != e.To {
			return projections.FeedItem{}, false, err
		}
		// The reader's rows: out of the inbox, one fewer unread, and a feed
		// item so the reader's other devices clear it.
		_ = b.Delete(unreadKey(e.To, e.SentAt, e.ID), nil)
		if _, err := v.bumpConversation(b, e.To, e.From, domain.Message{ID: e.ID, SentAt: e.SentAt}, -1); err != nil {
			return projections.FeedItem{}, false, err
		}
		return putFeed(b, e, c.Pos)
	case domain.MessageReceipt:
		if c.User != e.From {
			return projections.FeedItem{}, false, nil
		}
		return v.applyReceipt(b, e, c.Pos)
	case domain.ConversationRead:
		return v.applyReadUpTo(b, e, c.User, c.Pos)
	case domain.MessageEcho:
		return v.applyEcho(b, e, c.User, c.Pos)
	}
	return v.applyEdit(b, c)
}

// applySent writes user u's copy of the message, the history entry, the
// conversation row, and for the recipient the inbox entry and the feed
// item. A message already held changes nothing (a retried send's copy).
func (v *Views) applySent(b *txn, e domain.MessageSent, u domain.UserID, pos domain.Position) (projections.FeedItem, bool, error) {
	sentAt := e.SentAt.UnixNano()
	if !v.fresh.isNew(u, e.ID, sentAt) {
		if _, err := v.loadMessage(b, u, e.ID); err == nil {
			return projections.FeedItem{}, false, nil
		} else if !errors.Is(err, domain.ErrNotFound) {
			return projections.FeedItem{}, false, err
		}
	}
	v.fresh.added(u, e.ID, sentAt)
	m := e.AsMessage()
	raw := encodeMessage(toStored(m))
	peer := m.Peer(u)
	_ = b.setRow(msgKey(u, m.ID), raw)
	_ = b.Set(append(historyPrefix(u, peer), timeID(m.SentAt, m.ID)...), nil, nil)
	unread := 0
	if u == e.To {
		unread = 1
	}
	// A message the reader's marker covers arrives read (ConversationRead).
	counted, err := v.bumpConversation(b, u, peer, m, unread)
	if err != nil {
		return projections.FeedItem{}, false, err
	}
	if counted {
		_ = b.Set(unreadKey(u, m.SentAt, m.ID), nil, nil)
	}
	if u != e.To {
		return projections.FeedItem{}, false, nil
	}
	return putFeed(b, e, pos)
}

// advance moves user u's copy of message id to status s at time at
// (domain.Message.Advance). A message the user does not hold is left
// alone: the log keeps a message's events in order, so its MessageSent was
// never appended. So is a copy the user hid: its read took it out of the
// unread count already.
func (v *Views) advance(b *txn, u domain.UserID, id domain.MessageID, s domain.Status, at time.Time) (bool, error) {
	sm, err := v.loadMessage(b, u, id)
	if errors.Is(err, domain.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	m := sm.message()
	if m.Hidden || !m.Advance(s, at) { // a copy its user hid no longer changes (views_edits.go)
		return false, nil
	}
	return true, b.setRow(msgKey(u, id), encodeMessage(restored(m, sm)))
}

// restored is m stored with what sm, its previous row, says beyond the
// message itself.
func restored(m domain.Message, sm storedMessage) storedMessage {
	out := toStored(m)
	out.Fed, out.Legacy = sm.Fed, sm.Legacy
	out.Edits.Reactions = sm.Edits.Reactions // with the times of removed ones (views_edits.go)
	return out
}

// applyReceipt moves the sender's copy forward and puts the receipt in
// the sender's feed unless it is there already (a receipt appended twice:
// the pipeline re-appends a batch's receipts after a crash). The row says
// which receipts are in the feed; rows of version 1 have markers instead.
func (v *Views) applyReceipt(b *txn, e domain.MessageReceipt, pos domain.Position) (projections.FeedItem, bool, error) {
	sm, err := v.loadMessage(b, e.From, e.ID)
	missing := errors.Is(err, domain.ErrNotFound)
	if err != nil && !missing {
		return projections.FeedItem{}, false, err
	}
	bit := uint8(1) << e.Status
	if sm.Fed&bit != 0 {
		return projections.FeedItem{}, false, nil
	}
	// Without the row's bit a marker may still say it: rows written before
	// the bit existed, and receipts met before their message (a replay or
	// a shard move's copy reads partitions in parallel), which are marked.
	// Only a message sent at or before the mark floor can have one.
	key := receiptKey(e.From, e.ID, e.Status)
	sentAt := e.SentAt.UnixNano()
	if missing || sm.Legacy || v.fresh.mayBeMarked(sentAt) {
		if _, err := get(b, key); err == nil {
			return projections.FeedItem{}, false, nil
		} else if !errors.Is(err, pebble.ErrNotFound) {
			return projections.FeedItem{}, false, err
		}
	}
	if missing {
		_ = b.Set(key, nil, nil)
		v.fresh.marked(sentAt)
		return putFeed(b, e, pos)
	}
	m := sm.message()
	m.Advance(e.Status, e.At)
	row := restored(m, sm)
	row.Fed |= bit
	if err := b.setRow(msgKey(e.From, e.ID), encodeMessage(row)); err != nil {
		return projections.FeedItem{}, false, err
	}
	return putFeed(b, e, pos)
}

// bumpConversation adds delta to the unread count of (u, peer) unless the
// conversation's read marker covers m (counted reports whether it did),
// and makes m its last message if m is newer than the current one.
func (v *Views) bumpConversation(b *txn, u, peer domain.UserID, m domain.Message, delta int) (counted bool, err error) {
	var c storedConversation
	raw, err := b.getRow(convKey(u, peer))
	switch {
	case err == nil:
		if c, err = decodeConversation(raw); err != nil {
			return false, fmt.Errorf("decode conversation: %w", err)
		}
	case !errors.Is(err, pebble.ErrNotFound):
		return false, err
	}
	counted = delta != 0 && !domain.ReadUpTo(m.ID, domain.MessageID(c.UpTo))
	if counted {
		c.Unread = max(c.Unread+delta, 0)
	}
	if delta >= 0 && (c.LastID == "" || newer(m.SentAt, string(m.ID), c.LastAt, c.LastID)) {
		c.LastID, c.LastAt = string(m.ID), m.SentAt
	}
	return counted, b.setRow(convKey(u, peer), encodeConversation(c))
}

func newer(t time.Time, id string, than time.Time, thanID string) bool {
	if !t.Equal(than) {
		return t.After(than)
	}
	return id > thanID
}

// txn is one apply's write batch with the reads it needs: a read sees the
// batch's own earlier writes (from an overlay map), else the row cache,
// else the database. It is much cheaper than a Pebble indexed batch, whose
// every read merges the batch's skiplist with the database's iterators.
// Writes only go to the overlay; commit writes each key's last value to a
// Pebble batch in key order, so a row written twice in a batch is written
// once, and the memtable's skiplist inserts of one user's keys follow each
// other (Pebble's inserter reuses the previous insert's position, which
// profiles showed to be the largest cost of a commit in random order).
// Rows written with setRow (messages, conversations) and rows found
// absent go into the cache once the batch commits.
type txn struct {
	db    *pebble.DB
	cache *rowCache
	over  map[string][]byte // written keys; a nil value is a deletion
	rows  map[string]bool   // keys to install in the cache on commit
}

// newTxn returns a txn sized for about keys writes.
func newTxn(db *pebble.DB, cache *rowCache, keys int) *txn {
	return &txn{db: db, cache: cache, over: make(map[string][]byte, keys), rows: make(map[string]bool, keys/2)}
}

func (t *txn) close() {}

// Get implements getter.
func (t *txn) Get(key []byte) ([]byte, io.Closer, error) {
	if v, ok := t.over[string(key)]; ok {
		if v == nil {
			return nil, nil, pebble.ErrNotFound
		}
		return v, io.NopCloser(nil), nil
	}
	if v, known := t.cache.get(key); known {
		if v == nil {
			return nil, nil, pebble.ErrNotFound
		}
		return v, io.NopCloser(nil), nil
	}
	return t.db.Get(key)
}

// getRow is get for a cached row: a row absent from the database is
// remembered as absent once the batch commits (unless the batch writes it).
func (t *txn) getRow(key []byte) ([]byte, error) {
	v, err := get(t, key)
	if errors.Is(err, pebble.ErrNotFound) {
		if _, written := t.over[string(key)]; !written {
			t.rows[string(key)] = true
		}
	}
	return v, err
}

// Set writes key (value may be empty, never nil in the overlay).
func (t *txn) Set(key, value []byte, _ *pebble.WriteOptions) error {
	t.over[string(key)] = append([]byte{}, value...)
	return nil
}

// setRow writes a cached row.
func (t *txn) setRow(key, value []byte) error {
	t.rows[string(key)] = true
	return t.Set(key, value, nil)
}

// Delete deletes key.
func (t *txn) Delete(key []byte, _ *pebble.WriteOptions) error {
	t.over[string(key)] = nil
	return nil
}

// commit writes the overlay in key order as one Pebble batch, commits it,
// then installs its rows in the cache.
func (t *txn) commit(opts *pebble.WriteOptions) error {
	keys := make([]string, 0, len(t.over))
	size := 0
	for k, v := range t.over {
		keys = append(keys, k)
		size += len(k) + len(v) + 16
	}
	slices.Sort(keys)
	b := t.db.NewBatchWithSize(size)
	defer b.Close()
	for _, k := range keys {
		var err error
		if v := t.over[k]; v == nil {
			err = b.Delete([]byte(k), nil)
		} else {
			err = b.Set([]byte(k), v, nil)
		}
		if err != nil {
			return err
		}
	}
	if err := b.Commit(opts); err != nil {
		return err
	}
	for k := range t.rows {
		t.cache.put(k, t.over[k]) // nil when absent
	}
	return nil
}
