package commands

import (
	"sync"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// recentMarks remembers the status events this process appended lately,
// by message and status, so a repeated mark (a retried PATCH, a second
// device's read moments later) that finds the views not yet updated
// appends nothing more, without waiting for the views to catch up. Two
// generations of at most max entries each bound its memory. Marks
// appended by other processes are not known here; a repeat there appends
// a redundant event at worst, which the views ignore. Safe for concurrent
// use.
type recentMarks struct {
	mu        sync.Mutex
	cur, prev map[markKey]time.Time // when the mark happened
	max       int
}

type markKey struct {
	id     domain.MessageID
	status domain.Status
}

// recentMarksSize is per generation: ~64 B an entry, ~6 MB at most.
const recentMarksSize = 50_000

func newRecentMarks(max int) *recentMarks {
	return &recentMarks{cur: map[markKey]time.Time{}, prev: map[markKey]time.Time{}, max: max}
}

// apply moves m forward by every mark of it to status s or beyond that
// was appended lately (as the views will once they apply them), and
// reports whether there was one: then the caller need not append again.
func (r *recentMarks) apply(m *domain.Message, s domain.Status) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	found := false
	for st := domain.StatusDelivered; st <= domain.StatusRead; st++ {
		k := markKey{m.ID, st}
		at, ok := r.cur[k]
		if !ok {
			at, ok = r.prev[k]
		}
		if ok {
			m.Advance(st, at)
			found = found || st >= s
		}
	}
	return found
}

// add records that a mark of id to s, at time at, was appended.
func (r *recentMarks) add(id domain.MessageID, s domain.Status, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cur) >= r.max {
		r.prev, r.cur = r.cur, make(map[markKey]time.Time, r.max)
	}
	r.cur[markKey{id, s}] = at
}

// advance moves each of ms forward by the marks of it appended lately.
func (r *recentMarks) advance(ms []domain.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cur) == 0 && len(r.prev) == 0 {
		return
	}
	for i := range ms {
		for st := domain.StatusDelivered; st <= domain.StatusRead; st++ {
			k := markKey{ms[i].ID, st}
			at, ok := r.cur[k]
			if !ok {
				at, ok = r.prev[k]
			}
			if ok {
				ms[i].Advance(st, at)
			}
		}
	}
}

// Marks is the query side's view of the marks this process appended
// lately: a command answers with the status its event will give the
// message (GET /messages shows what it returns as delivered), and the
// views apply that event a little later, so a read in between would show
// the status going back. Advance moves messages read from the views
// forward by those marks, so every read on this process shows a status
// at least as new as any command here answered. (On another process, the
// X-Tidings-Position a command returned makes a read wait for the views.)
// The zero Marks changes nothing. Safe for concurrent use.
type Marks struct{ recent *recentMarks }

// Advance moves each of ms forward by the marks of it this process
// appended lately.
func (m Marks) Advance(ms []domain.Message) {
	if m.recent != nil {
		m.recent.advance(ms)
	}
}
