package cassandra

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// retriedHorizon is how long a retried send is remembered, in event time
// behind the newest retried send seen: the first attempt of a send reaches
// the log within its append timeout (seconds) or never, so a day is ample.
// The rows of retried_sends expire after the same day (migration 0005).
const retriedHorizon = 24 * time.Hour

// maxRetried bounds the remembered sends; past it the oldest half is
// dropped. Retries are rare and rate limited, so it is never reached in
// practice; it only bounds memory against a client that retries forever.
const maxRetried = 1 << 20

const (
	insertRetried = `INSERT INTO retried_sends (group_name, message_id, sent_at) VALUES (?, ?, ?)`
	selectRetried = `SELECT message_id, sent_at FROM retried_sends WHERE group_name = ?`
)

// retried remembers the messages whose sends were retried (a
// MessageSent.Retry copy reached the views). A send's first attempt can
// reach the log after its retry's copy; that late original has no Retry
// mark, and only this memory tells ApplyBatch it is a copy, without a
// read per send. It is kept in memory and in the table retried_sends, and
// reloaded from the table at Open and by Views.Resume (a process that
// starts to consume a partition resumes, so it learns what the previous
// consumer applied). Safe for concurrent use.
type retried struct {
	mu     sync.Mutex
	ids    map[domain.MessageID]time.Time // message → its send time
	newest time.Time                      // newest send time in ids
}

// has reports whether id's send was retried.
func (r *retried) has(id domain.MessageID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.ids[id]
	return ok
}

// reset forgets every send (the views were emptied: a replay learns
// them again in log order).
func (r *retried) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids, r.newest = nil, time.Time{}
}

// add remembers the sends and forgets those past the horizon.
func (r *retried) add(sends map[domain.MessageID]time.Time) {
	if len(sends) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[domain.MessageID]time.Time{}
	}
	for id, at := range sends {
		r.ids[id] = at
		if at.After(r.newest) {
			r.newest = at
		}
	}
	horizon := r.newest.Add(-retriedHorizon)
	if len(r.ids) > maxRetried {
		horizon = r.newest.Add(-retriedHorizon / 2)
	}
	for id, at := range r.ids {
		if at.Before(horizon) {
			delete(r.ids, id)
		}
	}
	for id := range r.ids {
		if len(r.ids) <= maxRetried {
			break
		}
		delete(r.ids, id)
	}
}

// retriedSends returns the messages of the retried sends among changes
// (the recipient's change of a MessageSent.Retry) with their send times.
func retriedSends(changes []projections.Change) map[domain.MessageID]time.Time {
	var out map[domain.MessageID]time.Time
	for _, c := range changes {
		if e, ok := c.Event.(domain.MessageSent); ok && e.Retry && c.User == e.To {
			if out == nil {
				out = map[domain.MessageID]time.Time{}
			}
			out[e.ID] = e.SentAt
		}
	}
	return out
}

// rememberRetried writes the retried sends to retried_sends, so that the
// next consumer of their partition knows them; ApplyBatch calls it before
// it records positions. Rare: only batches with a retried send write.
func (v *Views) rememberRetried(ctx context.Context, sends map[domain.MessageID]time.Time) error {
	if len(sends) == 0 {
		return nil
	}
	stmts := make([]stmt, 0, len(sends))
	for id, at := range sends {
		stmts = append(stmts, stmt{cql: insertRetried, args: []any{v.group, string(id), at}})
	}
	if err := v.send(ctx, stmts); err != nil {
		return fmt.Errorf("remember %d retried sends: %w", len(sends), err)
	}
	v.retried.add(sends)
	return nil
}

// loadRetried adds the retried sends every consumer of the group wrote to
// memory. Resume calls it after positions are read: a consumer writes a
// send there before the position past it, so every send before a
// position read is found.
func (v *Views) loadRetried(ctx context.Context) error {
	iter := v.session.Query(selectRetried, v.group).WithContext(ctx).Iter()
	sends := map[domain.MessageID]time.Time{}
	var (
		id string
		at time.Time
	)
	for iter.Scan(&id, &at) {
		sends[domain.MessageID(id)] = at
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("read retried sends: %w", err)
	}
	v.retried.add(sends)
	return nil
}
