package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// DeleteWindow is how long after sending a sender may delete a message
// for everyone (as WhatsApp, about two days). Part of the API contract
// (docs/api.md). Delete for me (HideMessage) has no window.
const DeleteWindow = 48 * time.Hour

// DeleteMessage asks to delete message ID for everyone, by its sender User.
type DeleteMessage struct {
	User domain.UserID
	ID   domain.MessageID
}

// DeleteMessageHandler appends MessageDeleted.
type DeleteMessageHandler struct {
	log      EventLog
	messages MessageReader
	sync     ViewSync
	now      func() time.Time
}

// Handle deletes the message for everyone: both parties' views keep a
// tombstone without text or versions. Only the sender may, within
// DeleteWindow of the send: anyone else, and an unknown or hidden id, get
// domain.ErrNotFound; an older message is CodeDeleteWindowClosed. A
// message already deleted appends nothing and returns its tombstone.
func (h DeleteMessageHandler) Handle(ctx context.Context, cmd DeleteMessage) (Changed, error) {
	m, err := partyMessage(ctx, h.messages, h.sync, cmd.User, cmd.ID)
	if err != nil {
		return Changed{}, err
	}
	if m.From != cmd.User {
		return Changed{}, domain.ErrNotFound
	}
	if m.Deleted {
		return Changed{Message: m}, nil
	}
	now := h.now()
	if now.Sub(m.SentAt) > DeleteWindow {
		return Changed{}, domain.Errorf(domain.CodeDeleteWindowClosed, "a message can be deleted for everyone for %v after it is sent", DeleteWindow)
	}
	ev := domain.MessageDeleted{ID: m.ID, From: m.From, To: m.To, SentAt: m.SentAt, DeletedAt: now}
	pos, err := h.log.Append(ctx, ev)
	if err != nil {
		return Changed{}, fmt.Errorf("append %s %s: %w", ev.Type(), ev.ID, err)
	}
	return Changed{Message: Tombstone(m, now), Position: &pos}, nil
}

// Tombstone is m deleted for everyone at at: no text, no edit.
func Tombstone(m domain.Message, at time.Time) domain.Message {
	m.Text, m.Deleted, m.DeletedAt = "", true, at
	return m
}
