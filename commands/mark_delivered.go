package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// MarkDelivered records that a device of recipient User received message ID.
type MarkDelivered struct {
	User domain.UserID
	ID   domain.MessageID
}

// MarkDeliveredHandler appends MessageDelivered.
type MarkDeliveredHandler struct {
	log      EventLog
	messages MessageReader
	sync     ViewSync
	now      func() time.Time
}

// Handle marks the message delivered unless it already is (or is read), in
// which case it appends nothing. Only the recipient may; anyone else gets
// domain.ErrNotFound.
func (h MarkDeliveredHandler) Handle(ctx context.Context, cmd MarkDelivered) (Marked, error) {
	m, err := recipientMessage(ctx, h.messages, h.sync, cmd.User, cmd.ID)
	if err != nil {
		return Marked{}, err
	}
	if m.Status >= domain.StatusDelivered {
		return Marked{Message: m}, nil
	}
	ev := domain.MessageDelivered{ID: m.ID, From: m.From, To: m.To, SentAt: m.SentAt, DeliveredAt: h.now()}
	pos, err := h.log.Append(ctx, ev)
	if err != nil {
		return Marked{}, fmt.Errorf("append %s %s: %w", ev.Type(), ev.ID, err)
	}
	m.Status, m.DeliveredAt = domain.StatusDelivered, ev.DeliveredAt
	return Marked{Message: m, Position: &pos}, nil
}
