package cassandra

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/gocql/gocql"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// Read markers (migrations/0006): the statements of domain.ConversationRead.
const (
	upsertReadMarker  = `UPDATE user_read_markers USING TIMESTAMP ? SET up_to = ? WHERE user_id = ? AND peer_id = ?`
	selectReadMarkers = `SELECT peer_id, up_to FROM user_read_markers WHERE user_id = ?`
)

// readUpTo plans the reader's marker in the conversation with e.From and
// the feed item that tells the reader's other devices. It never reads: the
// marker's write timestamp is its id's time (tsMarker), so the highest
// marker wins whatever the order of arrival. The unread rows it covers
// that the store held before the batch (read by coveredUnread, the one
// read of this event) or that the batch adds are deleted; a message that
// arrives after its marker keeps its row, and the queries leave it out
// (readMarkers).
func (p *plan) readUpTo(e domain.ConversationRead, u domain.UserID, pos domain.Position) error {
	if u != e.To {
		return fmt.Errorf("read marker up to %s: %s is not its reader", e.ID, u)
	}
	ts, err := tsMarker(e.ID)
	if err != nil {
		return err
	}
	p.put(once(upsertReadMarker, partKey{u, 0}, e.ID, ts), ts, e.ID, u, e.From)
	p.clearCovered(u, e.From, e.ID)
	p.feed(e, u, pos)
	return nil
}

// tsMarker is the write timestamp of a marker at id: the id's millisecond
// in microseconds. Markers of one millisecond tie, and Cassandra then
// keeps the greater value: the later id.
func tsMarker(id domain.MessageID) (int64, error) {
	t, ok := idTime(id)
	if !ok {
		return 0, fmt.Errorf("read marker: %q is not a message id", id)
	}
	return t.UnixMicro(), nil
}

// readMarkers returns user's read markers by peer (one partition read).
func (v *Views) readMarkers(ctx context.Context, user domain.UserID) (map[domain.UserID]domain.MessageID, error) {
	iter := v.session.Query(selectReadMarkers, user).WithContext(ctx).PageSize(maxPageSize).Iter()
	var (
		peer, upTo string
		out        map[domain.UserID]domain.MessageID
	)
	for iter.Scan(&peer, &upTo) {
		if out == nil {
			out = map[domain.UserID]domain.MessageID{}
		}
		out[domain.UserID(peer)] = domain.MessageID(upTo)
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("read markers of %s: %w", user, err)
	}
	return out, nil
}

// unreadAfter counts the ids of a conversation's unread set that its
// marker does not cover.
func unreadAfter(ids []string, upTo domain.MessageID) int {
	n := 0
	for _, id := range ids {
		if !domain.ReadUpTo(domain.MessageID(id), upTo) {
			n++
		}
	}
	return n
}

// collectUnread is collect for the unread listing: it leaves out the
// messages a read marker covers.
func collectUnread(iter *gocql.Iter, c cols, out []domain.Message, want int, marks map[domain.UserID]domain.MessageID) ([]domain.Message, error) {
	var r row
	dests := r.dests(c)
	for len(out) < want && iter.Scan(dests...) {
		if m, ok := r.message(); ok && !domain.ReadUpTo(m.ID, marks[m.From]) {
			out = append(out, m)
		}
		r = row{}
	}
	return out, iter.Close()
}

// The markers are view rows: Reset empties them too (kept here, beside the
// table's statements).
func init() { viewTables = append(viewTables, "user_read_markers") }

// Reads of the unread rows a marker covers (the only reads a
// ConversationRead costs; no other event reads them).
const (
	selectConvUnread   = `SELECT unread FROM user_conversations WHERE user_id = ? AND peer_id = ?`
	selectUnreadOfUser = `SELECT pending FROM user_unread_months WHERE user_id = ?`
)

// unreadRow is an unread message of a conversation: enough to address its
// rows.
type unreadRow struct {
	id     domain.MessageID
	sentAt time.Time
}

// convKey names a conversation of a user: (user, peer).
type convKey struct{ user, peer domain.UserID }

// coveredUnread reads, for each ConversationRead among changes, the unread
// messages its conversation held before the batch, so that the plan can
// delete those the marker covers (readUpTo): without it they would stay
// in the unread rows, left out by the queries but read by them every
// time. Messages the same batch adds are known to the plan itself.
func (v *Views) coveredUnread(ctx context.Context, changes []projections.Change) (map[convKey][]unreadRow, error) {
	var out map[convKey][]unreadRow
	var pending map[domain.UserID]map[string]time.Time // by reader: id -> sent_at
	for _, c := range changes {
		e, ok := c.Event.(domain.ConversationRead)
		if !ok || c.User != e.To {
			continue
		}
		k := convKey{e.To, e.From}
		if _, done := out[k]; done {
			continue
		}
		var ids []string
		err := v.session.Query(selectConvUnread, e.To, e.From).WithContext(ctx).Scan(&ids)
		if err != nil && !errors.Is(err, gocql.ErrNotFound) {
			return nil, fmt.Errorf("read unread of %s from %s: %w", e.To, e.From, err)
		}
		if pending == nil {
			pending = map[domain.UserID]map[string]time.Time{}
		}
		sentAt, ok := pending[e.To]
		if !ok && len(ids) > 0 {
			sentAt = map[string]time.Time{}
			iter := v.session.Query(selectUnreadOfUser, e.To).WithContext(ctx).Iter()
			var m map[string]time.Time
			for iter.Scan(&m) {
				maps.Copy(sentAt, m)
				m = nil
			}
			if err := iter.Close(); err != nil {
				return nil, fmt.Errorf("read unread months of %s: %w", e.To, err)
			}
			pending[e.To] = sentAt
		}
		if out == nil {
			out = map[convKey][]unreadRow{}
		}
		rows := []unreadRow{}
		for _, id := range ids {
			if at, ok := sentAt[id]; ok {
				rows = append(rows, unreadRow{domain.MessageID(id), at})
			}
		}
		out[k] = rows
	}
	return out, nil
}

// clearCovered plans, for the reader's conversation with peer, the
// deletion of every unread row the marker upTo covers, as a MessageRead
// deletes them (timestamp tsRead, which a redelivered MessageSent cannot
// beat): those read before the batch (p.unreadBefore) and those the batch
// added (p.unreadAdded).
func (p *plan) clearCovered(reader, peer domain.UserID, upTo domain.MessageID) {
	k := convKey{reader, peer}
	own := partKey{reader, 0}
	for _, rows := range [][]unreadRow{p.unreadBefore[k], p.unreadAdded[k]} {
		for _, r := range rows {
			if !domain.ReadUpTo(r.id, upTo) {
				continue
			}
			b, del := bucketOf(r.sentAt), tsRead(r.sentAt)
			p.put(once(deleteUnread, partKey{reader, b}, r.id, del), del, reader, b, r.sentAt, r.id)
			p.put(once(removePending, own, r.id, del), r.id, del, reader, b)
			p.put(once(removeConvUnread, own, r.id, del), del, []string{string(r.id)}, reader, peer)
		}
	}
}
