package datakeys

import (
	"context"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

var (
	_ projections.Reader        = Reader{}
	_ projections.VersionReader = Reader{}
)

// Reader is a view reader whose messages come back opened (Keyring.Open):
// the views hold sealed text, and this is where clients are answered.
type Reader struct {
	projections.Reader
	Keys *Keyring
}

// Message implements projections.Reader.
func (r Reader) Message(ctx context.Context, user domain.UserID, id domain.MessageID) (domain.Message, error) {
	m, err := r.Reader.Message(ctx, user, id)
	if err != nil {
		return m, err
	}
	return r.Keys.Open(ctx, m)
}

// Unread implements projections.Reader.
func (r Reader) Unread(ctx context.Context, user domain.UserID, p projections.Page) ([]domain.Message, []byte, error) {
	ms, next, err := r.Reader.Unread(ctx, user, p)
	if err != nil {
		return ms, next, err
	}
	return ms, next, r.openAll(ctx, ms)
}

// History implements projections.Reader.
func (r Reader) History(ctx context.Context, user, peer domain.UserID, p projections.Page) ([]domain.Message, []byte, error) {
	ms, next, err := r.Reader.History(ctx, user, peer, p)
	if err != nil {
		return ms, next, err
	}
	return ms, next, r.openAll(ctx, ms)
}

// Conversations implements projections.Reader.
func (r Reader) Conversations(ctx context.Context, user domain.UserID, p projections.Page) ([]projections.Conversation, []byte, error) {
	cs, next, err := r.Reader.Conversations(ctx, user, p)
	if err != nil {
		return cs, next, err
	}
	for i := range cs {
		if cs[i].Last, err = r.Keys.Open(ctx, cs[i].Last); err != nil {
			return nil, nil, err
		}
	}
	return cs, next, nil
}

// Feed implements projections.Reader.
func (r Reader) Feed(ctx context.Context, user domain.UserID, after domain.Position, limit int) ([]projections.FeedItem, error) {
	items, err := r.Reader.Feed(ctx, user, after, limit)
	if err != nil {
		return items, err
	}
	for i := range items {
		if items[i].Message, err = r.Keys.Open(ctx, items[i].Message); err != nil {
			return nil, err
		}
	}
	return items, nil
}

func (r Reader) openAll(ctx context.Context, ms []domain.Message) error {
	for i := range ms {
		m, err := r.Keys.Open(ctx, ms[i])
		if err != nil {
			return err
		}
		ms[i] = m
	}
	return nil
}

// OpenPush returns push with every item's message opened first. An item
// whose key the store cannot be asked for is not pushed (and logged): the
// client finds it when it reads or resumes, where the error is its to see.
func OpenPush(k *Keyring, push projections.PushFunc) projections.PushFunc {
	return func(ctx context.Context, items []projections.FeedItem) {
		sealed := false
		for _, it := range items {
			sealed = sealed || Sealed(it.Message.Text)
		}
		if !sealed {
			push(ctx, items)
			return
		}
		out := make([]projections.FeedItem, 0, len(items))
		for _, it := range items {
			m, err := k.Open(ctx, it.Message)
			if err != nil {
				k.log.Warn("push: cannot open a message's text; not pushed", "message", string(it.Message.ID), "err", err)
				continue
			}
			it.Message = m
			out = append(out, it)
		}
		if len(out) > 0 {
			push(ctx, out)
		}
	}
}

// Versions implements projections.VersionReader when the reader below
// does (nil, domain.ErrNotFound otherwise): each version's text opened
// with its message's key (the message is read first, for its parties).
func (r Reader) Versions(ctx context.Context, user domain.UserID, id domain.MessageID) ([]domain.MessageVersion, error) {
	vr, ok := r.Reader.(projections.VersionReader)
	if !ok {
		return nil, domain.ErrNotFound
	}
	vs, err := vr.Versions(ctx, user, id)
	if err != nil || len(vs) == 0 {
		return vs, err
	}
	m, err := r.Reader.Message(ctx, user, id)
	if err != nil {
		return nil, err
	}
	for i := range vs {
		o, err := r.Keys.Open(ctx, domain.Message{ID: id, From: m.From, To: m.To, Text: vs[i].Text})
		if err != nil {
			return nil, err
		}
		vs[i].Text = o.Text // "" when the author's account was deleted
	}
	return vs, nil
}
