package projections

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// ErrWaitTimeout is returned by Tracker.Wait when the position was not
// applied in time.
var ErrWaitTimeout = errors.New("views did not reach the position in time")

// PositionSource reports the applied offset of every partition, as the
// views store records it. It lets a process wait for positions applied by a
// projector in another process.
type PositionSource interface {
	AppliedPositions(ctx context.Context) (map[int32]int64, error)
}

// Tracker knows how far the views have applied the log, per partition, and
// lets readers wait until a position is applied. Advances made in this
// process wake waiters at once; positions applied elsewhere are found by
// polling the store every PollEvery. Safe for concurrent use.
type Tracker struct {
	source    PositionSource
	pollEvery time.Duration

	mu      sync.Mutex
	applied map[int32]int64
	changed chan struct{} // closed and replaced on every advance

	pollMu   sync.Mutex // one poll at a time, at most one per pollEvery
	lastPoll time.Time
}

// NewTracker returns a tracker that polls source (nil: never polls).
func NewTracker(source PositionSource) *Tracker {
	return &Tracker{source: source, pollEvery: 20 * time.Millisecond, applied: map[int32]int64{}, changed: make(chan struct{})}
}

// Advance records pos as applied.
func (t *Tracker) Advance(pos domain.Position) {
	t.mu.Lock()
	if cur, ok := t.applied[pos.Partition]; !ok || pos.Offset > cur {
		t.applied[pos.Partition] = pos.Offset
		close(t.changed)
		t.changed = make(chan struct{})
	}
	t.mu.Unlock()
}

func (t *Tracker) reached(pos domain.Position) (bool, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur, ok := t.applied[pos.Partition]
	return ok && cur >= pos.Offset, t.changed
}

// Wait returns nil once pos is applied, ErrWaitTimeout after timeout, or
// the context's error.
func (t *Tracker) Wait(ctx context.Context, pos domain.Position, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var poll <-chan time.Time
	if t.source != nil {
		tick := time.NewTicker(t.pollEvery)
		defer tick.Stop()
		poll = tick.C
	}
	for {
		ok, changed := t.reached(pos)
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-poll:
			if err := t.refresh(ctx); err != nil {
				return err
			}
		case <-deadline.C:
			return ErrWaitTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// refresh reads the store's positions unless another waiter did so within
// pollEvery: however many requests wait, the store sees one read per
// interval.
func (t *Tracker) refresh(ctx context.Context) error {
	t.pollMu.Lock()
	defer t.pollMu.Unlock()
	if time.Since(t.lastPoll) < t.pollEvery {
		return nil
	}
	t.lastPoll = time.Now()
	got, err := t.source.AppliedPositions(ctx)
	if err != nil {
		return err
	}
	for p, o := range got {
		t.Advance(domain.Position{Partition: p, Offset: o})
	}
	return nil
}
