package commands

import (
	"context"
	"fmt"
	"sync"
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
	recent   *recentMarks
	now      func() time.Time
}

// Handle marks the message delivered unless it already is (or is read), in
// which case it appends nothing. Only the recipient may; anyone else gets
// domain.ErrNotFound.
func (h MarkDeliveredHandler) Handle(ctx context.Context, cmd MarkDelivered) (Marked, error) {
	return h.mark(ctx, h.sync, cmd.User, cmd.ID)
}

// HandleAll marks several messages of one recipient delivered, each as
// Handle does (ids the views just listed: no catching up is needed), and
// appends up to 16 events at a time. The results and errors are in the
// order of ids; one failure does not stop the others.
func (h MarkDeliveredHandler) HandleAll(ctx context.Context, user domain.UserID, ids []domain.MessageID) ([]Marked, []error) {
	out, errs := make([]Marked, len(ids)), make([]error, len(ids))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = h.mark(ctx, nil, user, id)
		})
	}
	wg.Wait()
	return out, errs
}

func (h MarkDeliveredHandler) mark(ctx context.Context, vs ViewSync, user domain.UserID, id domain.MessageID) (Marked, error) {
	m, err := recipientMessage(ctx, h.messages, vs, user, id)
	if err != nil {
		return Marked{}, err
	}
	if m.Status >= domain.StatusDelivered || h.recent.apply(&m, domain.StatusDelivered) {
		return Marked{Message: m}, nil
	}
	ev := domain.MessageDelivered{ID: m.ID, From: m.From, To: m.To, SentAt: m.SentAt, DeliveredAt: h.now()}
	pos, err := h.log.Append(ctx, ev)
	if err != nil {
		return Marked{}, fmt.Errorf("append %s %s: %w", ev.Type(), ev.ID, err)
	}
	h.recent.add(m.ID, domain.StatusDelivered, ev.DeliveredAt)
	m.Advance(domain.StatusDelivered, ev.DeliveredAt)
	return Marked{Message: m, Position: &pos}, nil
}
