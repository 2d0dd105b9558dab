package embedded

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// logPartition is one partition's visible state and in-memory tail.
type logPartition struct {
	staged []projections.Record // committer only: this commit's records

	mu        sync.Mutex
	oldest    int64                // offset of the oldest record
	next      int64                // offset the next visible record gets
	ring      []projections.Record // ring[off%len] holds offsets [ringStart, next)
	ringStart int64
	wake      chan struct{} // closed and replaced whenever next advances
}

// publish makes recs (consecutive, starting at p.next, durable) visible
// and wakes the readers waiting for them.
func (p *logPartition) publish(recs []projections.Record) {
	p.mu.Lock()
	size := int64(len(p.ring))
	for _, r := range recs {
		p.ring[r.Pos.Offset%size] = r
	}
	p.next += int64(len(recs))
	p.ringStart = max(p.ringStart, p.next-size)
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
}

// Bounds implements projections.Stream, from memory.
func (l *EventLog) Bounds(context.Context) (oldest, next map[int32]int64, err error) {
	if l.isClosing() {
		return nil, nil, ErrEventLogClosed
	}
	oldest = make(map[int32]int64, len(l.parts))
	next = make(map[int32]int64, len(l.parts))
	for p, part := range l.parts {
		part.mu.Lock()
		oldest[int32(p)], next[int32(p)] = part.oldest, part.next
		part.mu.Unlock()
	}
	return oldest, next, nil
}

// Tail implements projections.Stream. Each batch holds every record
// available from the current offset, up to MaxBatch. Live records come from
// memory; a reader behind the in-memory tail reads Pebble. It returns
// ErrEventLogClosed once the log is closed.
func (l *EventLog) Tail(ctx context.Context, partition int32, from int64, handle projections.BatchHandler) error {
	part, err := l.partition(partition)
	if err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if l.isClosing() {
			return ErrEventLogClosed
		}
		recs, wake, err := l.read(part, partition, from)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return ctx.Err()
			case <-l.closing:
				return ErrEventLogClosed
			}
		}
		if err := handle(ctx, projections.Batch{Partition: partition, Records: recs}); err != nil {
			return err
		}
		from = recs[len(recs)-1].Pos.Offset + 1
	}
}

// Consume implements projections.Stream. The embedded log serves one
// process, so it owns every partition: one goroutine per partition tails it
// from start's offset. A failed batch is handed out again after
// RetryPause, doubling up to RetryPauseMax, until it succeeds. Consume
// returns when ctx ends (ctx.Err()), when the log is closed
// (ErrEventLogClosed) or when start fails (that error, after stopping the
// other partitions). group is only a name here: no offsets are kept.
func (l *EventLog) Consume(ctx context.Context, group string, start projections.StartFunc, handle projections.BatchHandler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for p := range l.cfg.Partitions {
		wg.Go(func() {
			if err := l.consumePartition(ctx, group, p, start, handle); err != nil && ctx.Err() == nil {
				once.Do(func() { first = err })
				cancel()
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

func (l *EventLog) consumePartition(ctx context.Context, group string, p int32, start projections.StartFunc, handle projections.BatchHandler) error {
	from, err := start(ctx, p)
	if err != nil {
		return fmt.Errorf("consume %s partition %d: start offset: %w", group, p, err)
	}
	return l.Tail(ctx, p, from, func(ctx context.Context, b projections.Batch) error {
		pause := l.cfg.RetryPause
		for {
			if handle(ctx, b) == nil {
				return nil
			}
			timer := time.NewTimer(pause)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return ctx.Err()
			case <-l.closing:
				timer.Stop()
				return ErrEventLogClosed
			}
			pause = min(2*pause, l.cfg.RetryPauseMax)
		}
	})
}

// read returns the records available in partition p from offset from
// (clamped to the oldest), at most MaxBatch; or, when there are none yet, a
// channel that is closed when there are.
func (l *EventLog) read(part *logPartition, p int32, from int64) ([]projections.Record, <-chan struct{}, error) {
	part.mu.Lock()
	from = max(from, part.oldest)
	next, ringStart := part.next, part.ringStart
	switch {
	case from >= next:
		wake := part.wake
		part.mu.Unlock()
		return nil, wake, nil
	case from >= ringStart:
		n := min(next-from, int64(l.cfg.MaxBatch))
		recs := make([]projections.Record, n)
		size := int64(len(part.ring))
		for i := range n {
			recs[i] = part.ring[(from+i)%size]
		}
		part.mu.Unlock()
		return recs, nil, nil
	}
	part.mu.Unlock()
	recs, err := l.readDisk(p, from, min(ringStart, from+int64(l.cfg.MaxBatch)))
	return recs, nil, err
}

// readDisk reads and decodes offsets [from, to) of partition p, all of
// which are durable.
func (l *EventLog) readDisk(p int32, from, to int64) ([]projections.Record, error) {
	l.readMu.RLock()
	defer l.readMu.RUnlock()
	if l.dbClosed {
		return nil, ErrEventLogClosed
	}
	l.diskReads.Add(1)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: recordKey(p, from), UpperBound: recordKey(p, to)})
	if err != nil {
		return nil, fmt.Errorf("read partition %d from %d: %w", p, from, err)
	}
	recs := make([]projections.Record, 0, to-from)
	for ok := it.First(); ok; ok = it.Next() {
		off := from + int64(len(recs))
		if got := keyOffset(it.Key()); got != off {
			_ = it.Close()
			return nil, fmt.Errorf("read partition %d: offset %d missing (found %d)", p, off, got)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("read %d-%d: %w", p, off, err)
		}
		ev, err := decodeEvent(v)
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("read %d-%d: %w", p, off, err)
		}
		recs = append(recs, projections.Record{Pos: domain.Position{Partition: p, Offset: off}, Event: ev})
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("read partition %d from %d: %w", p, from, err)
	}
	if int64(len(recs)) != to-from {
		return nil, fmt.Errorf("read partition %d: offsets %d..%d missing", p, from+int64(len(recs)), to-1)
	}
	return recs, nil
}

func (l *EventLog) partition(p int32) (*logPartition, error) {
	if p < 0 || int(p) >= len(l.parts) {
		return nil, fmt.Errorf("event log: partition %d not in 0..%d", p, len(l.parts)-1)
	}
	return l.parts[p], nil
}

func (l *EventLog) isClosing() bool {
	select {
	case <-l.closing:
		return true
	default:
		return false
	}
}
