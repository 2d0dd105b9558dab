package embedded

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/domain"
)

// freshSends tells, without reading Pebble, that a MessageSent being
// applied is new to the store, which is true of all but a retried send's
// copy. Without it every send costs a lookup of a row that does not exist:
// a memtable seek that profiles showed as the largest single cost of an
// apply (Bloom filters help only below the memtable).
//
// It keeps a floor (Unix nanoseconds) and the hashes of the messages the
// store applied since it was opened whose send time is above the floor,
// with this invariant: every message the store holds with a send time
// above the floor has its hash in the set. So a message above the floor
// whose hash is absent is certainly new; any other is looked up (a hash
// present may be a collision or a copy, a time at or below the floor may
// be anything). The floor starts at the highest send time the store has
// ever applied (kept in the views under sentFloorKey, in the same batches
// as the rows), so it needs no clock: a copy of a message applied before a
// restart is at or below it. When a generation of hashes is dropped to
// bound memory, the floor rises to the newest send time it held.
//
// Callers hold the views' apply lock; freshSends has no lock of its own
// beyond what Reset needs.
type freshSends struct {
	mu    sync.Mutex
	floor int64 // send times at or below it are looked up
	// sent is the highest send time applied (sentFloorKey). marks bounds
	// the receipt markers (receiptKey), written only for receipts met
	// before their message and by versions before the row's bit: every
	// marker is of a message sent at or before it (markFloorKey), so a
	// receipt of a later message needs no lookup.
	sent, marks storedMax
	cur, prev   map[uint64]struct{} // hashes of messages applied above floor
	curMax      int64               // newest send time in cur
	prevMax     int64               // newest send time in prev
	max         int
}

// storedMax is a maximum kept in the views under key, in the batches that
// raise it: value may run ahead of what a committed batch wrote
// (persisted) when the batch that raised it failed, and the next batch
// that commits writes it then. Guarded by freshSends.mu.
type storedMax struct {
	key              []byte
	value, persisted int64
}

// load reads m's value from db; a store that has applied something
// (held) without ever keeping m's key (an earlier version) starts ten
// minutes ahead of the clock instead, which the first batch writes.
func (m *storedMax) load(db *pebble.DB, held bool, now time.Time) error {
	m.value, m.persisted = 0, 0
	raw, err := get(db, m.key)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		if held {
			m.value = now.Add(10 * time.Minute).UnixNano()
		}
	case err != nil:
		return err
	case len(raw) == 8:
		m.value = int64(binary.BigEndian.Uint64(raw))
		m.persisted = m.value
	default:
		return errCorruptRow
	}
	return nil
}

// freshGeneration bounds each of the two generations of hashes (16 B an
// entry in a Go map: ~2 MB each at most).
const freshGeneration = 100_000

var (
	sentFloorKey = []byte("v/~sent")
	markFloorKey = []byte("v/~mark")
	freshSeed    = maphash.MakeSeed()
)

// newFreshSends reads the floors from db. Views written by a version that
// did not keep them start ten minutes ahead of the clock (sends and
// receipts of the first minutes after the upgrade are looked up).
func newFreshSends(db *pebble.DB, max int, now time.Time) (*freshSends, error) {
	f := &freshSends{max: max, sent: storedMax{key: sentFloorKey}, marks: storedMax{key: markFloorKey}}
	f.clear()
	held, err := hasPositions(db)
	if err != nil {
		return nil, err
	}
	for _, m := range []*storedMax{&f.sent, &f.marks} {
		if err := m.load(db, held, now); err != nil {
			return nil, err
		}
	}
	f.floor = f.sent.value
	return f, nil
}

// mayBeMarked reports whether a receipt marker may exist for a message
// sent at sentAt.
func (f *freshSends) mayBeMarked(sentAt int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sentAt <= f.marks.value
}

// marked records that a marker was written for a message sent at sentAt.
func (f *freshSends) marked(sentAt int64) {
	f.mu.Lock()
	f.marks.value = max(f.marks.value, sentAt)
	f.mu.Unlock()
}

// unsaved returns the (key, value) pairs a batch is to write: the
// maximums that no committed batch has recorded yet.
func (f *freshSends) unsaved() (keys [][]byte, values []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range []*storedMax{&f.sent, &f.marks} {
		if m.value > m.persisted {
			keys, values = append(keys, m.key), append(values, m.value)
		}
	}
	return keys, values
}

// saved records that a committed batch wrote values under keys.
func (f *freshSends) saved(keys [][]byte, values []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, k := range keys {
		for _, m := range []*storedMax{&f.sent, &f.marks} {
			if string(m.key) == string(k) {
				m.persisted = max(m.persisted, values[i])
			}
		}
	}
}

func (f *freshSends) clear() {
	f.cur, f.prev = make(map[uint64]struct{}, 1024), map[uint64]struct{}{}
	f.floor, f.curMax, f.prevMax = 0, 0, 0
	f.sent.value, f.sent.persisted, f.marks.value, f.marks.persisted = 0, 0, 0, 0
}

func hashSend(u domain.UserID, id domain.MessageID) uint64 {
	var h maphash.Hash
	h.SetSeed(freshSeed)
	_, _ = h.WriteString(string(u))
	_ = h.WriteByte(0)
	_, _ = h.WriteString(string(id))
	return h.Sum64()
}

// isNew reports whether user u's copy of message id sent at sentAt is
// certainly not held by the store; false means "look it up".
func (f *freshSends) isNew(u domain.UserID, id domain.MessageID, sentAt int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sentAt <= f.floor {
		return false
	}
	h := hashSend(u, id)
	_, inCur := f.cur[h]
	_, inPrev := f.prev[h]
	return !inCur && !inPrev
}

// added records that user u's copy of message id, sent at sentAt, is now
// written (committed or in the batch being committed: callers hold the
// apply lock, and a batch that fails to commit leaves the set claiming
// more than the store holds, which only costs lookups).
func (f *freshSends) added(u domain.UserID, id domain.MessageID, sentAt int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sentAt > f.floor {
		if len(f.cur) >= f.max {
			f.floor = max(f.floor, f.prevMax)
			f.prev, f.prevMax = f.cur, f.curMax
			f.cur, f.curMax = make(map[uint64]struct{}, f.max), 0
		}
		f.cur[hashSend(u, id)] = struct{}{}
		f.curMax = max(f.curMax, sentAt)
	}
	f.sent.value = max(f.sent.value, sentAt)
}

// reset forgets everything (the views were emptied).
func (f *freshSends) reset() {
	f.mu.Lock()
	f.clear()
	f.mu.Unlock()
}

// hasPositions reports whether the views have applied anything.
func hasPositions(db *pebble.DB) (bool, error) {
	prefix := []byte("v/~pos/")
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return false, err
	}
	found := it.First()
	return found, errors.Join(it.Error(), it.Close())
}
