package projections

import (
	"context"
	"log/slog"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// Fanout is the one rule by which feed items reach connections: a push
// never announces what the views do not hold yet. Items the local
// Pipeline applied go out at once (Pipeline.Push = Fanout.Applied); items
// of partitions another process projects are followed on the log (Follow)
// and go out once the Tracker says the views hold them. Either way the
// items of one user arrive in cursor order, and a connection drops those
// at or before its last cursor, so an item followed and applied both is
// written once.
//
// A retried send (domain.MessageSent.Retry) may repeat a message the views
// hold from an earlier position; the views give it no feed item there
// (Store), and Follow pushes it only if they did, so a retry is never
// pushed twice. A send's first attempt can reach the log after its own
// retry's copy; Follow remembers the retried sends it passed, and such a
// late original is a repeat too. Follow asks Views about those sends only.
type Fanout struct {
	Tracker *Tracker
	Push    PushFunc
	// Views tells a retried send's copy from its first append; nil
	// pushes copies too (connections drop the ones they remember).
	Views Reader
	Log   *slog.Logger
}

// Applied pushes items the views already hold.
func (f *Fanout) Applied(ctx context.Context, items []FeedItem) { f.Push(ctx, items) }

// Follow tails partition of log from offset from and pushes the feed item
// of every record once the views hold it, waiting as long as it takes
// (while the projector is held up, say by a rebalance after a node died,
// the partition's pushes wait with it). It returns when ctx ends or the
// tail fails, with the offset to follow on from (everything before it was
// pushed).
func (f *Fanout) Follow(ctx context.Context, log Stream, partition int32, from int64) (next int64, err error) {
	next = from
	retried := newRecentIDs(recentRetried)
	err = log.Tail(ctx, partition, from, func(ctx context.Context, b Batch) error {
		last := domain.Position{Partition: b.Partition, Offset: b.Last()}
		for {
			err := f.Tracker.Wait(ctx, last, 10*time.Second)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f.Log.Warn("push waits: the views have not reached the event yet", "pos", last.String())
		}
		items := make([]FeedItem, 0, len(b.Records))
		for _, r := range b.Records {
			if s, ok := r.Event.(domain.MessageSent); ok && s.Retry {
				retried.add(s.ID)
			}
			if _, it, ok := FeedItemOf(r.Event, r.Pos); ok && !f.copied(ctx, r.Event, it, retried) {
				items = append(items, it)
			}
		}
		if len(items) > 0 {
			f.Push(ctx, items)
		}
		next = b.Last() + 1
		return nil
	})
	return next, err
}

// copied reports whether it is the feed item of a retried send, or of a
// send whose retry came before it (retried), that the views did not put
// in the feed (the message was there already). When the views cannot
// tell, it pushes: a connection drops a repeat it remembers, whereas a
// push lost is lost until the client resumes.
func (f *Fanout) copied(ctx context.Context, ev domain.Event, it FeedItem, retried *recentIDs) bool {
	s, ok := ev.(domain.MessageSent)
	if !ok || f.Views == nil || !s.Retry && !retried.has(s.ID) {
		return false
	}
	before := domain.Position{Partition: it.Cursor.Partition, Offset: it.Cursor.Offset - 1}
	got, err := f.Views.Feed(ctx, it.User(), before, 1)
	if err != nil {
		f.Log.Warn("push of a retried send: cannot read the feed; pushing it", "pos", it.Cursor.String(), "err", err)
		return false
	}
	return len(got) == 0 || got[0].Cursor != it.Cursor
}

// recentRetried is how many retried sends a Follow remembers: a first
// attempt lands within its append timeout of its retry, a few seconds of
// the partition's log.
const recentRetried = 4096

// recentIDs remembers the last n message ids added (a ring). Not safe for
// concurrent use: each Follow has its own.
type recentIDs struct {
	ring []domain.MessageID
	next int
	set  map[domain.MessageID]int // id → times it is in ring
}

func newRecentIDs(n int) *recentIDs {
	return &recentIDs{ring: make([]domain.MessageID, n), set: map[domain.MessageID]int{}}
}

func (r *recentIDs) add(id domain.MessageID) {
	if old := r.ring[r.next]; old != "" {
		if r.set[old]--; r.set[old] == 0 {
			delete(r.set, old)
		}
	}
	r.ring[r.next] = id
	r.set[id]++
	r.next = (r.next + 1) % len(r.ring)
}

func (r *recentIDs) has(id domain.MessageID) bool { return r.set[id] > 0 }
