package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// MarkRead asks to mark message ID read on behalf of its recipient User.
type MarkRead struct {
	User domain.UserID
	ID   domain.MessageID
}

// Marked is the message as it stands after the command, and the position of
// the event appended for it (nil when nothing had to change).
type Marked struct {
	Message  domain.Message
	Position *domain.Position
}

// MarkReadHandler appends MessageRead.
type MarkReadHandler struct {
	log      EventLog
	messages MessageReader
	sync     ViewSync
	recent   *recentMarks
	now      func() time.Time
}

// Handle marks the message read. Only the recipient may: for anyone else,
// and for an unknown id, it returns domain.ErrNotFound. Marking a message
// that is already read appends nothing and returns it unchanged.
func (h MarkReadHandler) Handle(ctx context.Context, cmd MarkRead) (Marked, error) {
	m, err := recipientMessage(ctx, h.messages, h.sync, cmd.User, cmd.ID)
	if err != nil {
		return Marked{}, err
	}
	if m.Status >= domain.StatusRead || h.recent.apply(&m, domain.StatusRead) {
		// Read already, or its MessageRead was just appended here and the
		// views have not applied it yet.
		return Marked{Message: m}, nil
	}
	ev := domain.MessageRead{ID: m.ID, From: m.From, To: m.To, SentAt: m.SentAt, ReadAt: h.now()}
	pos, err := h.log.Append(ctx, ev)
	if err != nil {
		return Marked{}, fmt.Errorf("append %s %s: %w", ev.Type(), ev.ID, err)
	}
	h.recent.add(m.ID, domain.StatusRead, ev.ReadAt)
	m.Advance(domain.StatusRead, ev.ReadAt) // as the views will
	return Marked{Message: m, Position: &pos}, nil
}

// recipientMessage returns message id if user is its recipient, and
// domain.ErrNotFound otherwise, so a sender or a stranger learns nothing.
// When the views do not hold the message and sync is set, it lets the
// views catch up with the user's partition (the message may be appended
// but not applied yet) and looks again. It never waits for a message the
// views hold: a repeated mark is caught by recentMarks instead, so one
// client's marks do not queue behind the views' lag.
func recipientMessage(ctx context.Context, r MessageReader, sync ViewSync, user domain.UserID, id domain.MessageID) (domain.Message, error) {
	if !domain.ValidID(string(id)) {
		return domain.Message{}, domain.ErrNotFound
	}
	m, err := r.Message(ctx, user, id)
	if errors.Is(err, domain.ErrNotFound) && sync != nil {
		if err := sync.Sync(ctx, user); err != nil && ctx.Err() != nil {
			return domain.Message{}, ctx.Err()
		}
		m, err = r.Message(ctx, user, id)
	}
	if errors.Is(err, domain.ErrNotFound) || (err == nil && m.To != user) {
		return domain.Message{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.Message{}, fmt.Errorf("read message %s: %w", id, err)
	}
	return m, nil
}
