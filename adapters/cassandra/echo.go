package cassandra

import (
	"fmt"

	"github.com/tidings-chat/tidings/domain"
)

// echo plans the sender's feed item of its own message (domain.MessageEcho)
// and, with the send's own timestamp, the sender's message row: the echo
// comes from the sender's partition and the send's rows from the
// recipient's, so the echo may be applied first, and a feed item must
// never name a message that cannot be loaded. The row is the one
// MessageSent writes (same cells, same timestamp), so writing it twice
// changes nothing. Like receipts, an echo appended twice adds a feed item
// each time (the store does not read); connections drop the repeat.
func (p *plan) echo(e domain.MessageEcho, u domain.UserID, pos domain.Position) error {
	if u != e.From {
		return fmt.Errorf("echo of message %s: %s is not its sender", e.ID, u)
	}
	idb, err := idBucket(e.ID)
	if err != nil {
		return err
	}
	ts := tsSent(e.SentAt)
	p.put(once(insertMessage, partKey{u, idb}, e.ID, ts), u, idb, e.ID, e.From, e.To, e.Text, e.ClientMsgID, e.SentAt, ts)
	p.feed(e, u, pos)
	return nil
}
