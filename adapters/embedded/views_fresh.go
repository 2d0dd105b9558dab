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
	mu        sync.Mutex
	floor     int64 // send times at or below it are looked up
	highest   int64 // highest send time applied
	persisted int64 // highest send time written under sentFloorKey by a committed batch
	// Receipt markers (receiptKey) are written only for receipts met
	// before their message, and by versions before the row's bit: every
	// marker is of a message sent at or before markFloor (kept under
	// markFloorKey), so a receipt of a later message needs no lookup.
	markFloor, markPersisted int64
	cur, prev                map[uint64]struct{} // hashes of messages applied above floor
	curMax                   int64               // newest send time in cur
	prevMax                  int64               // newest send time in prev
	max                      int
}

// freshGeneration bounds each of the two generations of hashes (16 B an
// entry in a Go map: ~2 MB each at most).
const freshGeneration = 100_000

var (
	sentFloorKey = []byte("v/~sent")
	markFloorKey = []byte("v/~mark")
	freshSeed    = maphash.MakeSeed()
)

// newFreshSends reads the floor from db. Views written by a version that
// did not keep sentFloorKey start with a floor ten minutes ahead of the
// clock (sends of the first minutes after the upgrade are looked up).
func newFreshSends(db *pebble.DB, max int, now time.Time) (*freshSends, error) {
	f := &freshSends{max: max}
	f.clear()
	raw, err := get(db, sentFloorKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		held, err := hasPositions(db)
		if err != nil {
			return nil, err
		}
		if held {
			f.floor = now.Add(10 * time.Minute).UnixNano()
			f.highest = f.floor // persisted stays 0: the first batch writes it
		}
	case err != nil:
		return nil, err
	case len(raw) == 8:
		f.floor = int64(binary.BigEndian.Uint64(raw))
		f.highest, f.persisted = f.floor, f.floor
	default:
		return nil, errCorruptRow
	}
	switch raw, err := get(db, markFloorKey); {
	case errors.Is(err, pebble.ErrNotFound):
		held, err := hasPositions(db)
		if err != nil {
			return nil, err
		}
		if held { // views of a version that kept no mark floor: any message may have a marker
			f.markFloor = now.Add(10 * time.Minute).UnixNano()
		}
	case err != nil:
		return nil, err
	case len(raw) == 8:
		f.markFloor = int64(binary.BigEndian.Uint64(raw))
		f.markPersisted = f.markFloor
	default:
		return nil, errCorruptRow
	}
	return f, nil
}

// mayBeMarked reports whether a receipt marker may exist for a message
// sent at sentAt.
func (f *freshSends) mayBeMarked(sentAt int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sentAt <= f.markFloor
}

// marked records that a marker was written for a message sent at sentAt.
func (f *freshSends) marked(sentAt int64) {
	f.mu.Lock()
	f.markFloor = max(f.markFloor, sentAt)
	f.mu.Unlock()
}

// unpersistedMark is unpersisted for the mark floor.
func (f *freshSends) unpersistedMark() (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.markFloor, f.markFloor > f.markPersisted
}

// markPersistedAt records that a committed batch wrote h under
// markFloorKey.
func (f *freshSends) markPersistedAt(h int64) {
	f.mu.Lock()
	f.markPersisted = max(f.markPersisted, h)
	f.mu.Unlock()
}

func (f *freshSends) clear() {
	f.cur, f.prev = make(map[uint64]struct{}, 1024), map[uint64]struct{}{}
	f.floor, f.highest, f.persisted, f.curMax, f.prevMax = 0, 0, 0, 0, 0
	f.markFloor, f.markPersisted = 0, 0
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
	f.highest = max(f.highest, sentAt)
}

// unpersisted returns the highest send time applied and whether a
// committed batch has yet to record it under sentFloorKey (the batch that
// raised it may have failed: the next one records it then).
func (f *freshSends) unpersisted() (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.highest, f.highest > f.persisted
}

// persistedAt records that a committed batch wrote h under sentFloorKey.
func (f *freshSends) persistedAt(h int64) {
	f.mu.Lock()
	f.persisted = max(f.persisted, h)
	f.mu.Unlock()
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
