package projections

import (
	"context"
	"sync"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// ViewSync lets a command see the effect of every earlier command on a
// user: Sync waits until the views have applied everything this process
// has appended to the user's partition. It knows what was appended from
// Appended, called after each append, so it costs no round trip to the
// log. Events appended by other processes are not waited for; a command
// that misses one appends a redundant event at worst, which the views
// ignore. Safe for concurrent use; it implements commands.ViewSync.
type ViewSync struct {
	tracker    *Tracker
	partitions int32
	wait       time.Duration

	mu       sync.Mutex
	appended map[int32]int64
}

// NewViewSync returns a ViewSync over tracker for a log of partitions
// partitions; Sync waits at most wait.
func NewViewSync(tracker *Tracker, partitions int32, wait time.Duration) *ViewSync {
	return &ViewSync{tracker: tracker, partitions: partitions, wait: wait, appended: map[int32]int64{}}
}

// Appended records that an event was appended at pos.
func (s *ViewSync) Appended(pos domain.Position) {
	s.mu.Lock()
	if cur, ok := s.appended[pos.Partition]; !ok || pos.Offset > cur {
		s.appended[pos.Partition] = pos.Offset
	}
	s.mu.Unlock()
}

// Sync waits until the views hold everything this process appended to
// user's partition, or returns ErrWaitTimeout.
func (s *ViewSync) Sync(ctx context.Context, user domain.UserID) error {
	p := domain.PartitionOf(user, s.partitions)
	s.mu.Lock()
	off, ok := s.appended[p]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return s.tracker.Wait(ctx, domain.Position{Partition: p, Offset: off}, s.wait)
}

// Log returns log with every successful append recorded by s (Appended).
func (s *ViewSync) Log(log Appender) Appender { return syncedLog{log, s} }

type syncedLog struct {
	Appender
	s *ViewSync
}

func (l syncedLog) Append(ctx context.Context, ev domain.Event) (domain.Position, error) {
	pos, err := l.Appender.Append(ctx, ev)
	if err == nil {
		l.s.Appended(pos)
	}
	return pos, err
}
