package cassandra

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gocql/gocql"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// ApplyBatch implements projections.Store. It plans every statement the
// changes need (no statement reads), groups them by partition key and
// sends each key's statements as one unlogged batch (several if they
// exceed Config.BatchBytes), up to Config.BatchesInFlight at a time: first
// the batches of the users' months (messages, history, unread), then those
// of the users' own keys (conversations, unread months, feed), so that no
// conversation or feed item names a message that cannot be loaded. Only
// after every batch succeeded does it write positions, one row per
// partition in one batch (the highest offset wins: it is the write
// timestamp).
//
// Per event: a MessageSent writes user's message and history rows, the
// conversation row, and for the recipient the unread row and the feed
// item; for MessageDelivered and MessageRead the earliest time wins
// (tsFirst), and a read takes the message out of the recipient's unread
// inbox and count for good (its deletions carry tsRead, which a
// redelivered MessageSent cannot beat); a MessageReceipt writes the
// sender's feed item and moves the sender's copy to the receipt's status.
// A receipt appended twice lands at two positions and makes two feed
// items; clients de-duplicate by message id and status.
//
// The changes' order does not matter: every write carries a timestamp
// taken from its event (keys.go). A failed ApplyBatch has written some of
// the rows and none of the positions; applying it again completes it. It
// returns every feed item the changes write, in order: Cassandra cannot
// tell which it held already, so a batch applied twice returns them twice.
func (v *Views) ApplyBatch(ctx context.Context, changes []projections.Change, positions map[int32]int64) ([]projections.FeedItem, error) {
	p := newPlan()
	copies, err := v.retriedCopies(ctx, changes)
	if err != nil {
		return nil, err
	}
	p.copies = copies
	if p.originals, err = v.editOriginals(ctx, changes); err != nil { // edits.go
		return nil, err
	}
	if p.unreadBefore, err = v.coveredUnread(ctx, changes); err != nil {
		return nil, err
	}
	p.unreadAdded = map[convKey][]unreadRow{}
	for _, c := range changes {
		if err := p.add(c); err != nil {
			return nil, fmt.Errorf("apply %s %s for %s at %s: %w", c.Event.Type(), c.Event.Message(), c.User, c.Pos, err)
		}
	}
	if err := v.write(ctx, p); err != nil {
		return nil, fmt.Errorf("apply batch of %d changes: %w", len(changes), err)
	}
	if err := v.rememberRetried(ctx, retriedSends(changes)); err != nil {
		return nil, err
	}
	if err := v.recordPositions(ctx, positions); err != nil {
		return nil, err
	}
	return p.fed, nil
}

const selectMessageExists = `SELECT message_id FROM month_messages WHERE user_id = ? AND bucket = ? AND message_id = ?`

// retriedCopies returns the messages among changes that the recipient's
// views already hold as a copy: a retried send (MessageSent.Retry) whose
// message is found, the only reads before a write, one per retried send,
// which are rare; and a send without the mark whose own retry was applied
// before it (its first attempt reached the log late), which Views.retried
// remembers without a read. Earlier batches of the partition are written
// before this one is planned, so an earlier copy is found; a copy in the
// same batch is found by the plan itself.
func (v *Views) retriedCopies(ctx context.Context, changes []projections.Change) (map[domain.MessageID]bool, error) {
	var copies map[domain.MessageID]bool
	mark := func(id domain.MessageID) {
		if copies == nil {
			copies = map[domain.MessageID]bool{}
		}
		copies[id] = true
	}
	for _, c := range changes {
		e, ok := c.Event.(domain.MessageSent)
		if !ok || c.User != e.To {
			continue
		}
		if !e.Retry {
			if v.retried.has(e.ID) {
				mark(e.ID)
			}
			continue
		}
		idb, err := idBucket(e.ID)
		if err != nil {
			return nil, fmt.Errorf("retried send %s: %w", e.ID, err)
		}
		var id string
		err = v.session.Query(selectMessageExists, e.To, idb, e.ID).WithContext(ctx).Scan(&id)
		switch {
		case err == nil:
			mark(e.ID)
		case !errors.Is(err, gocql.ErrNotFound):
			return nil, fmt.Errorf("look up retried send %s: %w", e.ID, err)
		}
	}
	return copies, nil
}

// recordPositions writes positions in one batch on the group's partition.
func (v *Views) recordPositions(ctx context.Context, positions map[int32]int64) error {
	if len(positions) == 0 {
		return nil
	}
	parts := slices.Sorted(maps.Keys(positions))
	stmts := make([]stmt, len(parts))
	for i, p := range parts {
		off := positions[p]
		stmts[i] = stmt{cql: upsertPosition, args: []any{off, off, v.group, p}}
	}
	if err := v.send(ctx, stmts); err != nil {
		return fmt.Errorf("record positions %v: %w", positions, err)
	}
	return nil
}

// keyBatch is the statements of one batch and the key they share (the
// zero key for a batch of several keys).
type keyBatch struct {
	key   partKey
	stmts []stmt
}

// write sends p's statements: the months' batches, then the users' own.
// Per key, each batch holds one key's statements; cross-key
// (Config.KeyBatches), the statements of all months, then of all own
// keys, are packed into batches of up to batchBytes.
func (v *Views) write(ctx context.Context, p *plan) error {
	var months, own []keyBatch
	if v.crossKey {
		var ms, os []stmt
		for _, k := range p.keys {
			if k.month == 0 {
				os = append(os, p.stmts[k]...)
			} else {
				ms = append(ms, p.stmts[k]...)
			}
		}
		// Cassandra counts a batch of several partitions larger than the
		// statements' estimate (stmt.size) says: keep a margin under its
		// warning threshold.
		limit := v.batchBytes * 3 / 4
		for _, stmts := range split(ms, limit) {
			months = append(months, keyBatch{stmts: stmts})
		}
		for _, stmts := range split(os, limit) {
			own = append(own, keyBatch{stmts: stmts})
		}
	} else {
		for _, k := range p.keys {
			for _, stmts := range split(p.stmts[k], v.batchBytes) {
				if k.month == 0 {
					own = append(own, keyBatch{k, stmts})
				} else {
					months = append(months, keyBatch{k, stmts})
				}
			}
		}
	}
	if err := v.sendAll(ctx, months); err != nil {
		return err
	}
	return v.sendAll(ctx, own)
}

// split cuts stmts into runs whose estimated size stays within limit; a
// statement larger than limit is a run of its own.
func split(stmts []stmt, limit int) [][]stmt {
	if len(stmts) == 0 {
		return nil
	}
	var (
		out  [][]stmt
		from int
		size int
	)
	for i, s := range stmts {
		if i > from && size+s.size > limit {
			out = append(out, stmts[from:i])
			from, size = i, 0
		}
		size += s.size
	}
	return append(out, stmts[from:])
}

// sendAll sends batches concurrently, at most v.inFlight at a time. After
// a failure it sends no further batch (the whole apply is retried) and
// reports the first error with the number that failed.
func (v *Views) sendAll(ctx context.Context, batches []keyBatch) error {
	if len(batches) == 1 {
		if err := v.send(ctx, batches[0].stmts); err != nil {
			return fmt.Errorf("write %d statements of %s: %w", len(batches[0].stmts), batches[0].key, err)
		}
		return nil
	}
	var (
		sem    = make(chan struct{}, v.inFlight)
		wg     sync.WaitGroup
		failed atomic.Int64
		mu     sync.Mutex
		first  error
	)
	for _, b := range batches {
		if failed.Load() > 0 {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := v.send(ctx, b.stmts); err != nil {
				failed.Add(1)
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("write %d statements of %s: %w", len(b.stmts), b.key, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d of %d batches failed, the first: %w", n, len(batches), first)
	}
	return nil
}

// send executes statements that share a partition key: one as a query,
// more as an unlogged batch, which the driver routes to a replica of the
// key (token aware, from the first statement). Every statement is
// idempotent, so the driver may retry either.
func (v *Views) send(ctx context.Context, stmts []stmt) error {
	if len(stmts) == 1 {
		return v.session.Query(stmts[0].cql, stmts[0].args...).WithContext(ctx).Idempotent(true).Exec()
	}
	b := v.session.NewBatch(gocql.UnloggedBatch).WithContext(ctx)
	b.Entries = make([]gocql.BatchEntry, len(stmts))
	for i, s := range stmts {
		b.Entries[i] = gocql.BatchEntry{Stmt: s.cql, Args: s.args, Idempotent: true}
	}
	return v.session.ExecuteBatch(b)
}
