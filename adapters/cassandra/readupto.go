package cassandra

import (
	"context"
	"fmt"

	"github.com/gocql/gocql"

	"github.com/tidings-chat/tidings/domain"
)

// Read markers (migrations/0005): the statements of domain.ConversationRead.
const (
	upsertReadMarker  = `UPDATE user_read_markers USING TIMESTAMP ? SET up_to = ? WHERE user_id = ? AND peer_id = ?`
	selectReadMarkers = `SELECT peer_id, up_to FROM user_read_markers WHERE user_id = ?`
)

// readUpTo plans the reader's marker in the conversation with e.From and
// the feed item that tells the reader's other devices. It never reads: the
// marker's write timestamp is its id's time (tsMarker), so the highest
// marker wins whatever the order of arrival, and the unread rows it covers
// stay where they are: the queries leave them out (readMarkers).
func (p *plan) readUpTo(e domain.ConversationRead, u domain.UserID, pos domain.Position) error {
	if u != e.To {
		return fmt.Errorf("read marker up to %s: %s is not its reader", e.ID, u)
	}
	ts, err := tsMarker(e.ID)
	if err != nil {
		return err
	}
	p.put(once(upsertReadMarker, partKey{u, 0}, e.ID, ts), ts, e.ID, u, e.From)
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
func collectUnread(iter *gocql.Iter, out []domain.Message, want int, marks map[domain.UserID]domain.MessageID) ([]domain.Message, error) {
	var r row
	dests := r.dests(false)
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
