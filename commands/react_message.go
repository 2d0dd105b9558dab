package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// ReactMessage asks to set User's reaction to message ID to Emoji, or to
// remove it (Emoji "").
type ReactMessage struct {
	User  domain.UserID
	ID    domain.MessageID
	Emoji string
}

// ReactMessageHandler appends MessageReacted.
type ReactMessageHandler struct {
	log      EventLog
	messages MessageReader
	sync     ViewSync
	now      func() time.Time
}

// Handle sets or removes the reaction. Either party may, one emoji each
// (domain.ValidateEmoji: CodeInvalidEmoji); anyone else, and an unknown
// or hidden id, get domain.ErrNotFound; a message deleted for everyone is
// CodeMessageDeleted. The reaction names the text's current version, so a
// later edit shows it as answering the earlier text. Setting the reaction
// the user has (same emoji, same version), or removing none, appends
// nothing.
func (h ReactMessageHandler) Handle(ctx context.Context, cmd ReactMessage) (Changed, error) {
	if cmd.Emoji != "" {
		if err := domain.ValidateEmoji(cmd.Emoji); err != nil {
			return Changed{}, err
		}
	}
	m, err := partyMessage(ctx, h.messages, h.sync, cmd.User, cmd.ID)
	if err != nil {
		return Changed{}, err
	}
	if m.Deleted {
		return Changed{}, domain.Errorf(domain.CodeMessageDeleted, "the message was deleted")
	}
	i, version := m.ReactionIndex(cmd.User), max(m.Version, 1)
	if cur := m.Reactions[i]; cur.Emoji == cmd.Emoji && (cmd.Emoji == "" || cur.Version == version) {
		return Changed{Message: m}, nil
	}
	ev := domain.MessageReacted{ID: m.ID, From: m.From, To: m.To, SentAt: m.SentAt, By: cmd.User, Emoji: cmd.Emoji, Version: version, At: h.now()}
	pos, err := h.log.Append(ctx, ev)
	if err != nil {
		return Changed{}, fmt.Errorf("append %s %s: %w", ev.Type(), ev.ID, err)
	}
	m.Reactions[i] = domain.Reaction{}
	if cmd.Emoji != "" {
		m.Reactions[i] = domain.Reaction{By: cmd.User, Emoji: cmd.Emoji, Version: version} // as the views will
	}
	return Changed{Message: m, Position: &pos}, nil
}
