package embedded

import (
	"errors"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// echoFed is the bit of storedMessage.Fed that says the sender's feed
// holds the message's echo (the receipts use the bits of their statuses).
const echoFed = uint8(1) << domain.StatusSent

// applyEcho puts the sender's own message in the sender's feed, once: the
// row's echoFed bit tells a repeated echo (a retried send is echoed again,
// and a crash re-appends a batch's echoes) from the first. The echo comes
// from the sender's partition and the send's own rows from the
// recipient's, so it may be applied first: then it writes the sender's
// rows of the send itself (MessageSent writes nothing over them later), so
// that a feed item never names a message the store cannot load.
func (v *Views) applyEcho(b *txn, e domain.MessageEcho, u domain.UserID, pos domain.Position) (projections.FeedItem, bool, error) {
	if u != e.From {
		return projections.FeedItem{}, false, nil
	}
	sm, err := v.loadMessage(b, u, e.ID)
	if errors.Is(err, domain.ErrNotFound) {
		if _, _, err := v.applySent(b, e.Sent(), u, pos); err != nil {
			return projections.FeedItem{}, false, err
		}
		sm, err = v.loadMessage(b, u, e.ID)
	}
	if err != nil {
		return projections.FeedItem{}, false, err
	}
	if sm.Fed&echoFed != 0 {
		return projections.FeedItem{}, false, nil
	}
	if sm.Legacy { // rows of version 1 keep their own format: no bit to set
		return putFeed(b, e, pos)
	}
	sm.Fed |= echoFed
	if err := b.setRow(msgKey(u, e.ID), encodeMessage(sm)); err != nil {
		return projections.FeedItem{}, false, err
	}
	return putFeed(b, e, pos)
}
