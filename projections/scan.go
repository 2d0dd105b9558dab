package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Progress is called now and then during a scan with the records handled
// so far and the total to handle.
type Progress func(done, total int64)

// errScanned ends a partition's tail once it reached its end.
var errScanned = errors.New("partition scanned")

// Scan hands handle every record of log from the offsets in from (a
// partition missing from it: from its oldest record) up to the end each
// partition has when Scan begins, in batches, in order within each
// partition, partitions concurrently. It belongs to no group and commits
// nothing, so running consumers are not disturbed. It returns those ends
// (the next offset of each partition) and how many records it handled.
// A handler error stops the scan and is returned; progress (may be nil)
// is called every half second and at the end.
func Scan(ctx context.Context, log Stream, from map[int32]int64, handle BatchHandler, progress Progress) (map[int32]int64, int64, error) {
	oldest, next, err := log.Bounds(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("read log bounds: %w", err)
	}
	start := map[int32]int64{}
	var total int64
	for p, end := range next {
		start[p] = max(oldest[p], from[p])
		total += max(end-start[p], 0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		done    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		failure error
	)
	fail := func(err error) {
		errOnce.Do(func() { failure = err; cancel() })
	}
	for p, end := range next {
		if start[p] >= end {
			continue
		}
		wg.Go(func() {
			err := log.Tail(ctx, p, start[p], func(ctx context.Context, b Batch) error {
				if b.First() >= end {
					return errScanned
				}
				if b.Last() >= end {
					b.Records = b.Records[:end-b.First()]
				}
				if err := handle(ctx, b); err != nil {
					return err
				}
				done.Add(int64(len(b.Records)))
				if b.Last() == end-1 {
					return errScanned
				}
				return nil
			})
			if !errors.Is(err, errScanned) {
				fail(fmt.Errorf("partition %d: %w", p, err))
			}
		})
	}
	stopProgress := make(chan struct{})
	var pwg sync.WaitGroup
	if progress != nil {
		pwg.Go(func() {
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					progress(done.Load(), total)
				}
			}
		})
	}
	wg.Wait()
	close(stopProgress)
	pwg.Wait()
	if progress != nil {
		progress(done.Load(), total)
	}
	if failure != nil {
		return nil, done.Load(), fmt.Errorf("scan stopped after %d of %d records: %w", done.Load(), total, failure)
	}
	return next, total, nil
}

// replayBatch is how many changes Replay applies in one store write. Much
// larger than a live batch: the rows a replay rereads (a message's read
// and receipt, a conversation's next message) are mostly in the same
// write then, where the store finds them without a lookup.
const replayBatch = 8 << 10

// Replay applies every record of log, from the start, to store, recording
// the positions with the views (so a server started afterwards resumes
// after them). Run it on empty views (Store.Reset); applying over existing
// views is harmless too, every apply being idempotent. The partitions are
// read concurrently and their records applied together in large batches
// (the store converges whatever the interleaving of partitions).
func Replay(ctx context.Context, log Stream, store Store, progress Progress) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The apply runs in a goroutine of its own, one round at a time and in
	// order, while the scan decodes the next round: reading and decoding
	// overlap with the store's work instead of waiting for it.
	rounds := make(chan replayRound, 1)
	applied := make(chan error, 1)
	go func() {
		var err error
		for r := range rounds {
			if err != nil {
				continue // drain: the scan stops on the cancel below
			}
			if _, err = store.ApplyBatch(ctx, r.changes, r.positions); err != nil {
				cancel()
			}
		}
		applied <- err
	}()
	var (
		mu  sync.Mutex
		cur = newReplayRound()
	)
	hand := func(ctx context.Context) error { // mu is held
		if len(cur.changes) == 0 && len(cur.positions) == 0 {
			return nil
		}
		select {
		case rounds <- cur:
			cur = newReplayRound()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	_, n, scanErr := Scan(ctx, log, nil, func(ctx context.Context, b Batch) error {
		mu.Lock()
		defer mu.Unlock()
		cur.changes = append(cur.changes, ChangesOf(b)...)
		cur.positions[b.Partition] = b.Last()
		if len(cur.changes) >= replayBatch {
			return hand(ctx)
		}
		return nil
	}, progress)
	if scanErr == nil {
		mu.Lock()
		scanErr = hand(ctx)
		mu.Unlock()
	}
	close(rounds)
	if err := <-applied; err != nil {
		return n, err
	}
	if scanErr != nil {
		return n, scanErr
	}
	return n, store.Flush(ctx)
}

// replayRound is what Replay applies in one store write.
type replayRound struct {
	changes   []Change
	positions map[int32]int64
}

func newReplayRound() replayRound {
	return replayRound{changes: make([]Change, 0, replayBatch+replayBatch/4), positions: map[int32]int64{}}
}
