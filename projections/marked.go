package projections

import (
	"context"

	"github.com/tidings-chat/tidings/domain"
)

// Advancer moves messages read from the views forward by what the caller
// knows is on its way to them (commands.Marks: the status events this
// process appended that the views may not have applied yet). It only ever
// moves a status forward (domain.Message.Advance).
type Advancer interface {
	Advance(msgs []domain.Message)
}

// Marked returns r with every message it returns moved forward by a, so a
// read never shows a status older than one a command already answered
// (the views apply the command's event a little after it answers).
func Marked(r Reader, a Advancer) Reader { return marked{r, a} }

type marked struct {
	Reader
	a Advancer
}

func (m marked) Message(ctx context.Context, user domain.UserID, id domain.MessageID) (domain.Message, error) {
	msg, err := m.Reader.Message(ctx, user, id)
	if err == nil {
		one := []domain.Message{msg}
		m.a.Advance(one)
		msg = one[0]
	}
	return msg, err
}

func (m marked) Unread(ctx context.Context, user domain.UserID, p Page) ([]domain.Message, []byte, error) {
	msgs, next, err := m.Reader.Unread(ctx, user, p)
	m.a.Advance(msgs)
	return msgs, next, err
}

func (m marked) History(ctx context.Context, user, peer domain.UserID, p Page) ([]domain.Message, []byte, error) {
	msgs, next, err := m.Reader.History(ctx, user, peer, p)
	m.a.Advance(msgs)
	return msgs, next, err
}

func (m marked) Conversations(ctx context.Context, user domain.UserID, p Page) ([]Conversation, []byte, error) {
	convs, next, err := m.Reader.Conversations(ctx, user, p)
	if len(convs) > 0 {
		last := make([]domain.Message, len(convs))
		for i, c := range convs {
			last[i] = c.Last
		}
		m.a.Advance(last)
		for i := range convs {
			convs[i].Last = last[i]
		}
	}
	return convs, next, err
}

func (m marked) Feed(ctx context.Context, user domain.UserID, after domain.Position, limit int) ([]FeedItem, error) {
	items, err := m.Reader.Feed(ctx, user, after, limit)
	for i := range items {
		if items[i].Kind == FeedMessage {
			one := []domain.Message{items[i].Message}
			m.a.Advance(one)
			items[i].Message = one[0]
		}
	}
	return items, err
}
