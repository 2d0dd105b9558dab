package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/tidings-chat/tidings/domain"
)

// replyTarget checks the message a send replies to and returns the version
// of its text the reply answers. It must be a message between the sender
// and the recipient that the sender sees: not unknown, not of another
// conversation, not deleted for everyone, not deleted by the sender for
// themself; anything else is CodeInvalidReplyTo, the same for every case,
// so a reply_to tells nothing about other people's messages.
//
// A message the views do not hold yet (just appended) is looked for again
// after they caught up with both parties' partitions (sync, when set).
func replyTarget(ctx context.Context, r MessageReader, sync ViewSync, cmd SendMessage) (int, error) {
	bad := domain.Errorf(domain.CodeInvalidReplyTo, "reply_to names no message of this conversation that you can see")
	if !domain.ValidID(string(cmd.ReplyTo)) || r == nil {
		return 0, bad
	}
	m, err := r.Message(ctx, cmd.From, cmd.ReplyTo)
	if errors.Is(err, domain.ErrNotFound) && sync != nil {
		for _, key := range []domain.UserID{cmd.From, cmd.To} {
			if err := sync.Sync(ctx, key); err != nil && ctx.Err() != nil {
				return 0, ctx.Err()
			}
		}
		m, err = r.Message(ctx, cmd.From, cmd.ReplyTo)
	}
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return 0, bad
	case err != nil:
		return 0, fmt.Errorf("read the message replied to: %w", err)
	case !m.Involves(cmd.From) || !m.Involves(cmd.To) || m.Hidden || m.Deleted:
		return 0, bad
	}
	return max(m.Version, 1), nil
}
