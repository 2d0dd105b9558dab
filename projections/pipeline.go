package projections

import (
	"context"
	"fmt"
	"sync"

	"github.com/tidings-chat/tidings/domain"
)

// ViewsGroup is the consumer-group name of the views pipeline. Where the
// log keeps group offsets (Kafka), they are stored under it: renaming it
// loses them (harmless: the pipeline resumes from the views' own
// positions, but the group starts without a member history).
const ViewsGroup = "tidings-views-v1"

// Appender appends an event durably (the event log).
type Appender interface {
	Append(ctx context.Context, ev domain.Event) (domain.Position, error)
}

// Pipeline is the one pass over the log. For each batch of a partition it
// (1) starts appending the MessageReceipt every MessageDelivered and
// MessageRead calls for, and the MessageEcho of every MessageSent, keyed
// by the sender, so the sender's own partition carries everything the
// sender is told (its other devices see its own sends); (2) meanwhile
// applies the batch to the views in one store write; (3) advances the
// tracker and hands the feed items the views newly hold to Push; and (4)
// once the derived events are durable, records the batch's position.
//
// The derived events are appended before the position that covers their
// batch is recorded, so a crash in between applies the batch again and
// re-appends them (at-least-once; the views keep one receipt per message
// and status, and one echo per message) and never loses one. They are not
// in the way of the batch's own views and pushes: a message reaches its
// recipient without waiting for its echo's fsync. Handle is safe for
// concurrent use across partitions; within a partition batches must come
// in log order, one at a time (Stream guarantees it).
//
// Group apply: the batches that partitions hand over while an apply runs
// are applied together by the next one, their changes and positions in
// one Store.ApplyBatch — so each fixed cost of an apply (the store's lock
// and commit, a Cassandra batch per partition key) is paid once per
// round, not once per partition, and a round grows with the load instead
// of with a timer. The position of a batch with derived events joins the
// first round after they are durable (under load, with other batches; on
// its own when nothing else waits). Each Handle returns once its batch is
// applied and its position recorded, or either failed (every batch of a
// failed round is handed out again, which is harmless).
type Pipeline struct {
	Store   Store
	Log     Appender    // for receipts
	Tracker *Tracker    // may be nil
	Push    PushFunc    // may be nil: nothing is pushed from here
	Observe func(Batch) // may be nil: called after each applied batch (metrics)
	// Rejected is told of every record the pipeline refuses to apply
	// because no tidings command writes such an event
	// (domain.ValidateEvent): a forged or corrupted record is logged and
	// skipped, never shown. May be nil.
	Rejected func(Record, error)

	// Rounds is how many rounds may apply at once (0 means 1). More than
	// one helps a store whose writes wait on the network (Cassandra): a
	// round's batches are of partitions no other running round holds,
	// since a partition hands out its next batch only once the last one
	// is applied. The embedded store applies one batch at a time anyway.
	Rounds int

	mu      sync.Mutex
	queue   []*round // batches waiting for the next round
	running int      // goroutines running rounds
}

// round is one batch waiting to be applied with others: its changes and
// its position, or (later) its changes alone and then (posOnly, no
// records) its position.
type round struct {
	ctx     context.Context // its Handle's
	b       Batch
	done    chan error // buffered
	later   bool       // the position waits for the batch's derived events
	posOnly bool       // the position of a batch applied in an earlier round
}

// PushFunc hands applied feed items, in order, to the connections of
// their users. It must not block for long.
type PushFunc func(ctx context.Context, items []FeedItem)

// maxReceiptAppends bounds the receipt appends one batch has in flight.
const maxReceiptAppends = 64

// Handle applies one batch. An error means it was not (fully) applied and
// must be handed out again; applying it again is harmless.
func (p *Pipeline) Handle(ctx context.Context, b Batch) error {
	b = p.attributable(b)
	var derived []domain.Event
	for _, rec := range b.Records {
		if rc, ok := ReceiptOf(rec.Event); ok {
			derived = append(derived, rc)
		} else if s, ok := rec.Event.(domain.MessageSent); ok {
			derived = append(derived, domain.EchoOf(s)) // to the sender's devices
		}
	}
	if len(derived) == 0 {
		return p.join(&round{ctx: ctx, b: b, done: make(chan error, 1)})
	}
	// The derived events are appended while the batch's round applies
	// (each partition appends its own; the log commits concurrent appends
	// together); the position waits for them.
	appended := make(chan error, 1)
	go func() { appended <- p.appendReceipts(ctx, derived) }()
	err := p.join(&round{ctx: ctx, b: b, done: make(chan error, 1), later: true})
	if aerr := <-appended; err == nil {
		err = aerr
	}
	if err != nil {
		return err
	}
	return p.join(&round{ctx: ctx, b: Batch{Partition: b.Partition, last: b.Last()}, done: make(chan error, 1), posOnly: true})
}

// join queues r for the next round and waits for it. It waits even if
// ctx ends: the round's store write observes the context of its first
// batch (in practice every batch comes from one Consume, under one
// context), so it ends soon, and once every partition's Handle has
// returned no round still writes to the store, which may then be closed.
func (p *Pipeline) join(r *round) error {
	p.mu.Lock()
	p.queue = append(p.queue, r)
	if p.running < max(p.Rounds, 1) {
		p.running++
		go p.rounds()
	}
	p.mu.Unlock()
	return <-r.done
}

// Waiting returns how many batches wait for the next round (a gauge).
func (p *Pipeline) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}

// rounds applies the queued batches, a round at a time, until none wait.
func (p *Pipeline) rounds() {
	for {
		p.mu.Lock()
		batch := p.queue
		p.queue = nil
		if len(batch) == 0 {
			p.running--
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if err := p.apply(batch); err == nil || len(batch) == 1 {
			for _, r := range batch {
				r.done <- err
			}
			continue
		}
		// A round of several batches failed: apply each alone, so that a
		// batch that keeps failing (a corrupt row of one user) holds up its
		// own partition only, not every partition it shares rounds with.
		for _, r := range batch {
			r.done <- p.apply([]*round{r})
		}
	}
}

// apply applies the round's batches and the positions that may be
// recorded (of batches without derived events, and of posOnly rounds,
// whose derived events are durable) in one store write, and pushes what
// they fed, under the context of the round's first batch.
func (p *Pipeline) apply(rs []*round) error {
	ctx := rs[0].ctx
	var (
		changes   []Change
		positions = make(map[int32]int64, len(rs))
		records   int
	)
	for _, r := range rs {
		records += len(r.b.Records)
	}
	changes = make([]Change, 0, 2*records)
	applied := make(map[int32]int64, len(rs)) // what the views hold after the write
	for _, r := range rs {
		changes = append(changes, ChangesOf(r.b)...)
		if last, ok := applied[r.b.Partition]; !r.posOnly && (!ok || r.b.Last() > last) {
			applied[r.b.Partition] = r.b.Last()
		}
		if last, ok := positions[r.b.Partition]; !r.later && (!ok || r.b.Last() > last) {
			positions[r.b.Partition] = r.b.Last()
		}
	}
	fed, err := p.Store.ApplyBatch(ctx, changes, positions)
	if err != nil {
		return fmt.Errorf("apply %d records of %d batches: %w", records, len(rs), err)
	}
	if p.Tracker != nil {
		for part, off := range applied {
			p.Tracker.Advance(domain.Position{Partition: part, Offset: off})
		}
	}
	if p.Push != nil && len(fed) > 0 {
		p.Push(ctx, fed)
	}
	if p.Observe != nil {
		for _, r := range rs {
			if !r.posOnly {
				p.Observe(r.b)
			}
		}
	}
	return nil
}

// attributable returns b without the records no command writes. The
// batch keeps its partition and last offset, so the position still moves
// past them.
func (p *Pipeline) attributable(b Batch) Batch {
	var kept []Record // nil while every record so far is kept
	for i, r := range b.Records {
		err := domain.ValidateEvent(r.Event)
		switch {
		case err == nil && kept != nil:
			kept = append(kept, r)
		case err != nil:
			if kept == nil {
				kept = append(make([]Record, 0, len(b.Records)-1), b.Records[:i]...)
			}
			if p.Rejected != nil {
				p.Rejected(r, err)
			}
		}
	}
	if kept == nil {
		return b
	}
	return Batch{Partition: b.Partition, Records: kept, last: b.Last()}
}

// ReceiptOf returns the MessageReceipt that ev calls for, if any.
func ReceiptOf(ev domain.Event) (domain.MessageReceipt, bool) {
	switch e := ev.(type) {
	case domain.MessageDelivered:
		return domain.MessageReceipt{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, Status: domain.StatusDelivered, At: e.DeliveredAt}, true
	case domain.MessageRead:
		return domain.MessageReceipt{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, Status: domain.StatusRead, At: e.ReadAt}, true
	}
	return domain.MessageReceipt{}, false
}

// appendReceipts appends receipts concurrently (the log commits
// concurrent appends together) and waits for all of them.
func (p *Pipeline) appendReceipts(ctx context.Context, receipts []domain.Event) error {
	if len(receipts) == 0 {
		return nil
	}
	if len(receipts) == 1 {
		if _, err := p.Log.Append(ctx, receipts[0]); err != nil {
			return fmt.Errorf("append %s for %s: %w", receipts[0].Type(), receipts[0].Message(), err)
		}
		return nil
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs error
		sem  = make(chan struct{}, maxReceiptAppends)
	)
	for _, rc := range receipts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := p.Log.Append(ctx, rc); err != nil {
				mu.Lock()
				if errs == nil {
					errs = fmt.Errorf("append %s for %s: %w", rc.Type(), rc.Message(), err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}
