package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// HideMessage asks to delete message ID for User only ("delete for me").
type HideMessage struct {
	User domain.UserID
	ID   domain.MessageID
}

// HideMessageHandler appends MessageHidden.
type HideMessageHandler struct {
	log      EventLog
	messages MessageReader
	sync     ViewSync
	now      func() time.Time
}

// Handle takes the message out of User's views (and only User's): either
// party may, at any time, also after a delete for everyone. A message that
// is not User's, or that User already hid, is domain.ErrNotFound.
func (h HideMessageHandler) Handle(ctx context.Context, cmd HideMessage) (*domain.Position, error) {
	m, err := partyMessage(ctx, h.messages, h.sync, cmd.User, cmd.ID)
	if err != nil {
		return nil, err
	}
	ev := domain.MessageHidden{ID: m.ID, From: m.From, To: m.To, SentAt: m.SentAt, By: cmd.User, HiddenAt: h.now()}
	pos, err := h.log.Append(ctx, ev)
	if err != nil {
		return nil, fmt.Errorf("append %s %s: %w", ev.Type(), ev.ID, err)
	}
	return &pos, nil
}
