package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// EditWindow is how long after sending a sender may edit a message (as
// WhatsApp: 15 minutes). Part of the API contract (docs/api.md).
const EditWindow = 15 * time.Minute

// EditMessage asks to replace the text of message ID by its sender User.
type EditMessage struct {
	User domain.UserID
	ID   domain.MessageID
	Text string
}

// Changed is the message as it stands after an edit or delete command, and
// the position of the event appended for it (nil when nothing had to
// change).
//
// It is Marked, the result of a mark: the message as it stands and the
// position of what was appended.
type Changed = Marked

// EditMessageHandler appends MessageEdited.
type EditMessageHandler struct {
	log      EventLog
	messages MessageReader
	sync     ViewSync
	sealer   Sealer // nil: the text is appended as it is
	now      func() time.Time
}

// Handle edits the message. Only its sender may, within EditWindow of the
// send: anyone else, and an unknown or hidden id, get domain.ErrNotFound;
// a deleted message is CodeMessageDeleted, an older one
// CodeEditWindowClosed. The new version is one above the version the views
// hold after catching up with the message's partition, so edits one after
// another get versions 2, 3, ...; an edit to the text the message has
// appends nothing.
func (h EditMessageHandler) Handle(ctx context.Context, cmd EditMessage) (Changed, error) {
	if err := domain.ValidateText(cmd.Text); err != nil {
		return Changed{}, err
	}
	m, err := partyMessage(ctx, h.messages, h.sync, cmd.User, cmd.ID)
	if err != nil {
		return Changed{}, err
	}
	if m.From != cmd.User {
		return Changed{}, domain.ErrNotFound
	}
	if m.Deleted {
		return Changed{}, domain.Errorf(domain.CodeMessageDeleted, "the message was deleted")
	}
	now := h.now()
	if now.Sub(m.SentAt) > EditWindow {
		return Changed{}, domain.Errorf(domain.CodeEditWindowClosed, "a message can be edited for %v after it is sent", EditWindow)
	}
	if m.Text == cmd.Text {
		return Changed{Message: m}, nil
	}
	ev := domain.MessageEdited{ID: m.ID, From: m.From, To: m.To, SentAt: m.SentAt, Version: max(m.Version, 1) + 1, Text: cmd.Text, EditedAt: now}
	if h.sealer != nil {
		sealed, err := h.sealer.Seal(ctx, ev.From, ev.To, ev.ID, ev.Text)
		if err != nil {
			return Changed{}, fmt.Errorf("seal text of %s: %w", ev.ID, err)
		}
		ev.Text = sealed
	}
	pos, err := h.log.Append(ctx, ev)
	if err != nil {
		return Changed{}, fmt.Errorf("append %s %s: %w", ev.Type(), ev.ID, err)
	}
	m.Text, m.Version, m.EditedAt = cmd.Text, ev.Version, ev.EditedAt // as the views will
	return Changed{Message: m, Position: &pos}, nil
}

// partyMessage returns message id as user sees it, after the views have
// caught up with the message's partition (its recipient's), so a change
// sees every change appended before it. A message that is not user's, or
// that user hid, is domain.ErrNotFound.
func partyMessage(ctx context.Context, r MessageReader, sync ViewSync, user domain.UserID, id domain.MessageID) (domain.Message, error) {
	if !domain.ValidID(string(id)) {
		return domain.Message{}, domain.ErrNotFound
	}
	m, err := r.Message(ctx, user, id)
	if err == nil && sync != nil {
		if err := sync.Sync(ctx, m.To); err != nil && ctx.Err() != nil {
			return domain.Message{}, ctx.Err()
		}
		m, err = r.Message(ctx, user, id)
	} else if errors.Is(err, domain.ErrNotFound) && sync != nil {
		// The message may be appended but not applied yet; only a
		// recipient's partition is known here (the user's own).
		if err := sync.Sync(ctx, user); err != nil && ctx.Err() != nil {
			return domain.Message{}, ctx.Err()
		}
		m, err = r.Message(ctx, user, id)
	}
	if errors.Is(err, domain.ErrNotFound) || (err == nil && (!m.Involves(user) || m.Hidden)) {
		return domain.Message{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.Message{}, fmt.Errorf("read message %s: %w", id, err)
	}
	return m, nil
}
