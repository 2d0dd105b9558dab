package cassandra

import (
	"fmt"
	"math"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// The write statements, by the partition key their table has (see
// migrations/0003). Constants, so the driver prepares each once.
const (
	// (user_id, bucket): the user's months.
	insertMessage = `INSERT INTO month_messages (user_id, bucket, message_id, from_user, to_user, body, client_msg_id, sent_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`
	insertHistory = `INSERT INTO month_history (user_id, bucket, peer_id, sent_at, message_id, from_user, to_user, body, client_msg_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`
	insertUnread = `INSERT INTO month_unread (user_id, bucket, sent_at, message_id, from_user, to_user, body, client_msg_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`
	setMessageDelivered = `UPDATE month_messages USING TIMESTAMP ? SET delivered_at = ? WHERE user_id = ? AND bucket = ? AND message_id = ?`
	setMessageRead      = `UPDATE month_messages USING TIMESTAMP ? SET read_at = ? WHERE user_id = ? AND bucket = ? AND message_id = ?`
	setHistoryDelivered = `UPDATE month_history USING TIMESTAMP ? SET delivered_at = ?
WHERE user_id = ? AND bucket = ? AND peer_id = ? AND sent_at = ? AND message_id = ?`
	setHistoryRead = `UPDATE month_history USING TIMESTAMP ? SET read_at = ?
WHERE user_id = ? AND bucket = ? AND peer_id = ? AND sent_at = ? AND message_id = ?`
	setUnreadDelivered = `UPDATE month_unread USING TIMESTAMP ? SET delivered_at = ?
WHERE user_id = ? AND bucket = ? AND sent_at = ? AND message_id = ?`
	deleteUnread = `DELETE FROM month_unread USING TIMESTAMP ? WHERE user_id = ? AND bucket = ? AND sent_at = ? AND message_id = ?`

	// (user_id): the user's own key.
	updateConvSent = `UPDATE user_conversations USING TIMESTAMP ? SET last_at = ?, last_id = ?, months = months + ?
WHERE user_id = ? AND peer_id = ?`
	updateConvRecvd = `UPDATE user_conversations USING TIMESTAMP ? SET last_at = ?, last_id = ?, months = months + ?, unread = unread + ?
WHERE user_id = ? AND peer_id = ?`
	removeConvUnread = `UPDATE user_conversations USING TIMESTAMP ? SET unread = unread - ? WHERE user_id = ? AND peer_id = ?`
	addPending       = `UPDATE user_unread_months USING TIMESTAMP ? SET pending[?] = ? WHERE user_id = ? AND bucket = ?`
	removePending    = `DELETE pending[?] FROM user_unread_months USING TIMESTAMP ? WHERE user_id = ? AND bucket = ?`
	insertFeed       = `INSERT INTO user_feed (user_id, kpartition, offset, kind, message_id, from_user, to_user, sent_at, status, at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	setFeedFirst = `UPDATE user_feed_first USING TIMESTAMP ? SET first_offset = ? WHERE user_id = ? AND kpartition = ?`

	// (group_name).
	upsertPosition = `UPDATE applied_positions USING TIMESTAMP ? SET offset = ? WHERE group_name = ? AND partition = ?`
)

// partKey is a partition key of the views: a user's own key (month 0:
// user_conversations, user_unread_months, user_feed) or one month of the
// user (month_messages, month_history, month_unread). Tables keyed alike
// share the token of a key value, so the rows of one partKey go to the
// same replicas in one batch, which each replica applies as one mutation.
type partKey struct {
	user  domain.UserID
	month int // yyyymm, or 0 for the user's own key
}

func (k partKey) String() string {
	if k.month == 0 {
		return "user " + string(k.user)
	}
	return fmt.Sprintf("user %s month %d", k.user, k.month)
}

// stmt is one write statement and its estimated size in a batch.
type stmt struct {
	cql  string
	args []any
	size int
}

// rowWrite identifies a statement of a plan by what it writes: the same
// statement on the same key, message and write timestamp (or feed offset)
// writes the same cells with the same values, so a plan keeps one. Such
// repeats are common: a receipt sets the sender's status cells that the
// MessageRead of the same batch sets too, and redelivered events repeat
// whole changes.
type rowWrite struct {
	cql  string
	key  partKey
	id   domain.MessageID
	n    int64
	part int32 // the feed item's log partition
}

// plan is the statements a run of changes needs, grouped by partition key
// (keys in order of first use), and the feed items they write. It never
// reads: every statement is addressed and timestamped from its event.
type plan struct {
	stmts map[partKey][]stmt
	keys  []partKey
	seen  map[rowWrite]bool
	fed   []projections.FeedItem
	// copies are the messages of retried sends (MessageSent.Retry) that
	// the recipient's views held before the batch (Views.retriedCopies).
	copies map[domain.MessageID]bool
	// originals are the texts sent of the copies that edits in the batch
	// edit for the first time (Views.editOriginals, edits.go).
	originals map[original]string
	// unreadBefore and unreadAdded are the unread messages of the
	// conversations that ConversationRead changes mark (readupto.go).
	unreadBefore, unreadAdded map[convKey][]unreadRow
}

func newPlan() *plan {
	return &plan{stmts: map[partKey][]stmt{}, seen: map[rowWrite]bool{}}
}

// put adds a statement w.cql on w.key unless the plan has it already
// (rowWrite), and reports whether it did.
func (p *plan) put(w rowWrite, args ...any) bool {
	if p.seen[w] {
		return false
	}
	p.seen[w] = true
	if _, ok := p.stmts[w.key]; !ok {
		p.keys = append(p.keys, w.key)
	}
	p.stmts[w.key] = append(p.stmts[w.key], stmt{cql: w.cql, args: args, size: sizeOf(args)})
	return true
}

// once is the rowWrite of statement cql on key k for message id with
// write timestamp ts.
func once(cql string, k partKey, id domain.MessageID, ts int64) rowWrite {
	return rowWrite{cql: cql, key: k, id: id, n: ts}
}

// sizeOf estimates the bytes a statement adds to a batch mutation: its
// values plus a fixed overhead per row (Cassandra's own measure differs a
// little; it only has to be close).
func sizeOf(args []any) int {
	n := 24
	for _, a := range args {
		switch a := a.(type) {
		case string:
			n += len(a)
		case domain.UserID:
			n += len(a)
		case domain.MessageID:
			n += len(a)
		case []string:
			for _, s := range a {
				n += len(s) + 4
			}
		case []int:
			n += 4 * len(a)
		default: // numbers and times
			n += 8
		}
	}
	return n
}

// add plans the rows c writes; see projections.Store for what each event
// writes, and keys.go for the write timestamps.
func (p *plan) add(c projections.Change) error {
	switch e := c.Event.(type) {
	case domain.MessageSent:
		return p.sent(e, c.User, c.Pos)
	case domain.MessageDelivered:
		if err := p.status(e.ID, e.From, e.To, e.SentAt, c.User, domain.StatusDelivered, e.DeliveredAt); err != nil {
			return err
		}
		if c.User == e.To { // shadowed by the unread row's deletion if the message is read
			b, ts := bucketOf(e.SentAt), tsFirst(e.SentAt, e.DeliveredAt)
			p.put(once(setUnreadDelivered, partKey{e.To, b}, e.ID, ts), ts, e.DeliveredAt, e.To, b, e.SentAt, e.ID)
		}
		return nil
	case domain.MessageRead:
		return p.read(e, c.User, c.Pos)
	case domain.MessageReceipt:
		return p.receipt(e, c.User, c.Pos)
	case domain.ConversationRead:
		return p.readUpTo(e, c.User, c.Pos)
	case domain.MessageEcho:
		return p.echo(e, c.User, c.Pos)
	}
	return p.addEdit(c) // edits.go
}

// checkParty refuses a change of a user who is not a party of the message.
func checkParty(id domain.MessageID, from, to, u domain.UserID) error {
	if u != from && u != to {
		return fmt.Errorf("message %s: %s is neither its sender nor its recipient", id, u)
	}
	return nil
}

// sent plans user u's message, history and conversation rows and, for the
// recipient, the unread row and its month, and the feed item unless the
// message is a copy. The batch
// of the user's own key is sent after the months' (see Views.write), so a
// conversation or feed item never names a message that cannot be loaded.
func (p *plan) sent(e domain.MessageSent, u domain.UserID, pos domain.Position) error {
	if err := checkParty(e.ID, e.From, e.To, u); err != nil {
		return err
	}
	idb, b, err := buckets(e.ID, e.SentAt)
	if err != nil {
		return err
	}
	ts := tsSent(e.SentAt)
	peer := peerOf(e.From, e.To, u)
	own := partKey{u, 0}
	// A copy of a message already written (a retried send, or the same
	// event twice in this plan) rewrites the rows unchanged but adds no
	// feed item: the feed, and so the pushes, hold the message once.
	copied := p.copies[e.ID] || p.seen[once(insertMessage, partKey{u, idb}, e.ID, ts)]
	p.put(once(insertMessage, partKey{u, idb}, e.ID, ts), u, idb, e.ID, e.From, e.To, e.Text, e.ClientMsgID, e.SentAt, ts)
	p.put(once(insertHistory, partKey{u, b}, e.ID, ts), u, b, peer, e.SentAt, e.ID, e.From, e.To, e.Text, e.ClientMsgID, ts)
	if e.ReplyTo != "" {
		p.reply(e, u, idb, b, ts) // edits.go
	}
	if u != e.To {
		p.put(once(updateConvSent, own, e.ID, ts), ts, e.SentAt, e.ID, []int{b}, u, peer)
		return nil
	}
	p.put(once(insertUnread, partKey{u, b}, e.ID, ts), u, b, e.SentAt, e.ID, e.From, e.To, e.Text, e.ClientMsgID, ts)
	p.put(once(addPending, own, e.ID, ts), ts, e.ID, e.SentAt, u, b)
	p.put(once(updateConvRecvd, own, e.ID, ts), ts, e.SentAt, e.ID, []int{b}, []string{string(e.ID)}, u, peer)
	if p.unreadBefore != nil {
		k := convKey{u, peer}
		p.unreadAdded[k] = append(p.unreadAdded[k], unreadRow{e.ID, e.SentAt})
	}
	if !copied {
		p.feed(e, u, pos)
	}
	return nil
}

// status plans the delivered_at or read_at cells of user u's message and
// history rows: the earliest time wins (tsFirst), and the status reads
// as the highest whose time is set, so it only moves forward.
func (p *plan) status(id domain.MessageID, from, to domain.UserID, sentAt time.Time, u domain.UserID, s domain.Status, at time.Time) error {
	if err := checkParty(id, from, to, u); err != nil {
		return err
	}
	idb, b, err := buckets(id, sentAt)
	if err != nil {
		return err
	}
	setMessage, setHistory := setMessageDelivered, setHistoryDelivered
	switch s {
	case domain.StatusDelivered:
	case domain.StatusRead:
		setMessage, setHistory = setMessageRead, setHistoryRead
	default:
		return fmt.Errorf("message %s: status %v is neither delivered nor read", id, s)
	}
	if at.IsZero() {
		return fmt.Errorf("message %s: the %v event has no time", id, s)
	}
	ts := tsFirst(sentAt, at)
	p.put(once(setMessage, partKey{u, idb}, id, ts), ts, at, u, idb, id)
	p.put(once(setHistory, partKey{u, b}, id, ts), ts, at, u, b, peerOf(from, to, u), sentAt, id)
	return nil
}

// read plans the read status and, for the recipient, the message's
// removal from the unread inbox and count for good (the deletions carry
// tsRead, which a redelivered MessageSent cannot beat) and the feed item.
func (p *plan) read(e domain.MessageRead, u domain.UserID, pos domain.Position) error {
	if err := p.status(e.ID, e.From, e.To, e.SentAt, u, domain.StatusRead, e.ReadAt); err != nil {
		return err
	}
	if u != e.To {
		return nil
	}
	b, del := bucketOf(e.SentAt), tsRead(e.SentAt)
	own := partKey{u, 0}
	p.put(once(deleteUnread, partKey{u, b}, e.ID, del), del, u, b, e.SentAt, e.ID)
	p.put(once(removePending, own, e.ID, del), e.ID, del, u, b)
	p.put(once(removeConvUnread, own, e.ID, del), del, []string{string(e.ID)}, u, e.From)
	p.feed(e, u, pos)
	return nil
}

// receipt plans the receipt's feed item and moves the sender's own copy of
// the message to the receipt's status (forward only, like a
// MessageDelivered or MessageRead of the sender's rows), so a sender who
// was told "read" never reads the message as merely delivered.
func (p *plan) receipt(e domain.MessageReceipt, u domain.UserID, pos domain.Position) error {
	if u != e.From {
		return fmt.Errorf("receipt of message %s: %s is not its sender", e.ID, u)
	}
	if err := p.status(e.ID, e.From, e.To, e.SentAt, u, e.Status, e.At); err != nil {
		return err
	}
	p.feed(e, u, pos)
	return nil
}

// feed plans the feed item ev makes at pos if it is user u's. The row is
// keyed by the position, so re-applying rewrites it unchanged; its write
// timestamp is the client's clock, which the time-window compaction of the
// feed table needs.
func (p *plan) feed(ev domain.Event, u domain.UserID, pos domain.Position) {
	user, item, ok := projections.FeedItemOf(ev, pos)
	if !ok || user != u {
		return
	}
	m := item.Message
	var at any
	if !item.At.IsZero() {
		at = item.At
	}
	w := rowWrite{cql: insertFeed, key: partKey{u, 0}, id: m.ID, n: pos.Offset, part: pos.Partition}
	if p.put(w, u, pos.Partition, pos.Offset, int8(item.Kind), m.ID, m.From, m.To, m.SentAt, int8(item.Status), at) {
		p.fed = append(p.fed, item)
		// One per user and partition in a plan: a user's items come in
		// log order, so the first one planned has the lowest offset.
		ts := tsFeedFirst(pos.Offset)
		p.put(rowWrite{cql: setFeedFirst, key: partKey{u, 0}, part: pos.Partition}, ts, pos.Offset, u, pos.Partition)
	}
}

// tsFeedFirst is the write timestamp of user_feed_first for an item at
// offset: it falls as the offset grows, so the lowest offset wins.
func tsFeedFirst(offset int64) int64 { return math.MaxInt64/2 - offset }

// peerOf returns the other party of a message from → to, seen by u.
func peerOf(from, to, u domain.UserID) domain.UserID {
	if u == from {
		return to
	}
	return from
}

// buckets returns the month of a message's month_messages row (from its
// ID) and of its month_history and month_unread rows (from its send time),
// which every event of the message carries.
func buckets(id domain.MessageID, sentAt time.Time) (idb, b int, err error) {
	if idb, err = idBucket(id); err != nil {
		return 0, 0, err
	}
	if sentAt.IsZero() {
		return 0, 0, fmt.Errorf("message %s: the event has no send time, so its rows cannot be addressed", id)
	}
	return idb, bucketOf(sentAt), nil
}
