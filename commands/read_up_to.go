package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// ReadUpTo asks to move User's read marker in the conversation with Peer
// up to message UpTo, which Peer sent to User. An empty Peer means the
// conversation with whoever sent UpTo (the WebSocket frame names only the
// message).
type ReadUpTo struct {
	User domain.UserID
	Peer domain.UserID
	UpTo domain.MessageID
}

// ReadUpToResult is the event appended, its position, and the message
// the marker is at as the reader sees it.
type ReadUpToResult struct {
	Event    domain.ConversationRead
	Position domain.Position
	Message  domain.Message
}

// ReadUpToHandler appends domain.ConversationRead.
type ReadUpToHandler struct {
	log      EventLog
	messages MessageReader
	sync     ViewSync
	now      func() time.Time
}

// Handle appends the marker. UpTo must be a message Peer sent to User:
// anything else (a message User sent, another conversation's, a
// stranger's, an unknown id) is domain.ErrNotFound. It appends every time
// it is asked, also for a marker that would not move: the views keep the
// highest marker (domain.ConversationRead), so a repeat or an older marker
// changes no count, and the reader's devices are told of each.
func (h ReadUpToHandler) Handle(ctx context.Context, cmd ReadUpTo) (ReadUpToResult, error) {
	if cmd.Peer != "" && !domain.ValidID(string(cmd.Peer)) {
		return ReadUpToResult{}, domain.ErrNotFound
	}
	m, err := recipientMessage(ctx, h.messages, h.sync, cmd.User, cmd.UpTo)
	if err != nil {
		return ReadUpToResult{}, err
	}
	if cmd.Peer != "" && m.From != cmd.Peer {
		return ReadUpToResult{}, domain.ErrNotFound
	}
	ev := domain.ConversationRead{ID: m.ID, From: m.From, To: m.To, ReadAt: h.now()}
	pos, err := h.log.Append(ctx, ev)
	if err != nil {
		return ReadUpToResult{}, fmt.Errorf("append %s %s: %w", ev.Type(), ev.ID, err)
	}
	return ReadUpToResult{Event: ev, Position: pos, Message: m}, nil
}
