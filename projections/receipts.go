package projections

import (
	"context"
	"fmt"

	"github.com/tidings-chat/tidings/domain"
)

// ReceiptsGroup is the consumer-group name of the receipts projector (its
// committed offsets live in the broker: never rename it).
const ReceiptsGroup = "tidings-receipts-v1"

// Appender appends an event durably (the event log).
type Appender interface {
	Append(ctx context.Context, ev domain.Event) (domain.Position, error)
}

// Receipts turns every MessageDelivered and MessageRead, which sit in the
// recipient's partition, into a MessageReceipt keyed by the sender, so the
// sender's feed (and its devices) learn of it in the sender's own
// partition, in order with everything else the sender is told.
// Consumption is at-least-once, so a receipt may be appended twice; the
// views keep one per message and status where they can, and clients
// de-duplicate by message id and status.
type Receipts struct {
	log Appender
}

// NewReceipts returns the receipts projector appending to log.
func NewReceipts(log Appender) *Receipts { return &Receipts{log: log} }

// Handle appends the receipt ev calls for, if any. Safe for concurrent use.
func (r *Receipts) Handle(ctx context.Context, ev domain.Event, _ domain.Position) error {
	var rc domain.MessageReceipt
	switch e := ev.(type) {
	case domain.MessageDelivered:
		rc = domain.MessageReceipt{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, Status: domain.StatusDelivered, At: e.DeliveredAt}
	case domain.MessageRead:
		rc = domain.MessageReceipt{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, Status: domain.StatusRead, At: e.ReadAt}
	default:
		return nil
	}
	if _, err := r.log.Append(ctx, rc); err != nil {
		return fmt.Errorf("append receipt for %s: %w", rc.ID, err)
	}
	return nil
}
