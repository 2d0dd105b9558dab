package projections

import (
	"context"
	"errors"

	"github.com/tidings-chat/tidings/domain"
)

// Quoted returns r with the quote of every reply it returns resolved
// (domain.Message.Quote): the text of the version the reply answered, as
// the reader sees it now. The quote is read when the reply is read, not
// stored with it, so a quoted message deleted for everyone since shows as
// a tombstone (Quote.Deleted) in every view and after every replay,
// whatever order the two messages' partitions were applied in; one the
// reader deleted for themself shows as Quote.Unavailable. Versions other
// than the quoted message's current one come from vr (nil: such quotes
// are Unavailable). Only replies pay the extra reads.
func Quoted(r Reader, vr VersionReader) Reader { return quoted{r, vr} }

type quoted struct {
	Reader
	vr VersionReader
}

// quote resolves the quotes of msgs in place.
func (q quoted) quote(ctx context.Context, user domain.UserID, msgs []domain.Message) error {
	for i := range msgs {
		m := &msgs[i]
		if m.ReplyTo == "" || m.Deleted || m.Quote != nil {
			continue
		}
		qt, err := q.resolve(ctx, user, m.ReplyTo, m.ReplyVersion)
		if err != nil {
			return err
		}
		m.Quote = &qt
	}
	return nil
}

func (q quoted) resolve(ctx context.Context, user domain.UserID, id domain.MessageID, version int) (domain.Quote, error) {
	qt := domain.Quote{ID: id, Version: version}
	src, err := q.Reader.Message(ctx, user, id)
	switch {
	case errors.Is(err, domain.ErrNotFound) || (err == nil && src.Hidden):
		qt.Unavailable = true
		return qt, nil
	case err != nil:
		return qt, err
	case src.Deleted:
		qt.Deleted = true
		return qt, nil
	case max(src.Version, 1) == version:
		qt.Text = src.Text
		return qt, nil
	case q.vr == nil:
		qt.Unavailable = true
		return qt, nil
	}
	vs, err := q.vr.Versions(ctx, user, id)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return qt, err
	}
	for _, v := range vs {
		if v.Version == version {
			qt.Text = v.Text
			return qt, nil
		}
	}
	qt.Unavailable = true
	return qt, nil
}

func (q quoted) Message(ctx context.Context, user domain.UserID, id domain.MessageID) (domain.Message, error) {
	m, err := q.Reader.Message(ctx, user, id)
	if err != nil || m.ReplyTo == "" {
		return m, err
	}
	one := []domain.Message{m}
	err = q.quote(ctx, user, one)
	return one[0], err
}

func (q quoted) Unread(ctx context.Context, user domain.UserID, p Page) ([]domain.Message, []byte, error) {
	msgs, next, err := q.Reader.Unread(ctx, user, p)
	if err == nil {
		err = q.quote(ctx, user, msgs)
	}
	return msgs, next, err
}

func (q quoted) History(ctx context.Context, user, peer domain.UserID, p Page) ([]domain.Message, []byte, error) {
	msgs, next, err := q.Reader.History(ctx, user, peer, p)
	if err == nil {
		err = q.quote(ctx, user, msgs)
	}
	return msgs, next, err
}

func (q quoted) Conversations(ctx context.Context, user domain.UserID, p Page) ([]Conversation, []byte, error) {
	convs, next, err := q.Reader.Conversations(ctx, user, p)
	for i := range convs {
		if err != nil {
			break
		}
		if convs[i].Last.ReplyTo != "" {
			one := []domain.Message{convs[i].Last}
			err = q.quote(ctx, user, one)
			convs[i].Last = one[0]
		}
	}
	return convs, next, err
}

func (q quoted) Feed(ctx context.Context, user domain.UserID, after domain.Position, limit int) ([]FeedItem, error) {
	items, err := q.Reader.Feed(ctx, user, after, limit)
	for i := range items {
		if err != nil {
			break
		}
		if items[i].Kind.CarriesMessage() && items[i].Message.ReplyTo != "" {
			one := []domain.Message{items[i].Message}
			err = q.quote(ctx, user, one)
			items[i].Message = one[0]
		}
	}
	return items, err
}
