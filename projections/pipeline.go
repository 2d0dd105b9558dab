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
// (1) appends the MessageReceipt every MessageDelivered and MessageRead
// calls for, keyed by the sender, so the sender's own partition carries
// everything the sender is told; (2) applies the batch to the views in one
// store write that also records the batch's position; (3) advances the
// tracker; and (4) hands the feed items the views newly hold to Push.
//
// Receipts are appended before the views record the batch, so a crash in
// between re-appends them (at-least-once; the views keep one receipt per
// message and status) and never loses one. Handle is safe for concurrent
// use across partitions; within a partition batches must come in log
// order, one at a time (Stream guarantees it).
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
	if err := p.appendReceipts(ctx, b); err != nil {
		return err
	}
	fed, err := p.Store.ApplyBatch(ctx, ChangesOf(b), map[int32]int64{b.Partition: b.Last()})
	if err != nil {
		return fmt.Errorf("apply batch of %d records up to %d-%d: %w", len(b.Records), b.Partition, b.Last(), err)
	}
	if p.Tracker != nil {
		p.Tracker.Advance(domain.Position{Partition: b.Partition, Offset: b.Last()})
	}
	if p.Push != nil && len(fed) > 0 {
		p.Push(ctx, fed)
	}
	if p.Observe != nil {
		p.Observe(b)
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

// appendReceipts appends the batch's receipts concurrently (the log
// commits concurrent appends together) and waits for all of them.
func (p *Pipeline) appendReceipts(ctx context.Context, b Batch) error {
	var receipts []domain.MessageReceipt
	for _, r := range b.Records {
		if rc, ok := ReceiptOf(r.Event); ok {
			receipts = append(receipts, rc)
		}
	}
	if len(receipts) == 0 {
		return nil
	}
	if len(receipts) == 1 {
		if _, err := p.Log.Append(ctx, receipts[0]); err != nil {
			return fmt.Errorf("append receipt for %s: %w", receipts[0].ID, err)
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
					errs = fmt.Errorf("append receipt for %s: %w", rc.ID, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}
