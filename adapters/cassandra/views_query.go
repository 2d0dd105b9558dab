package cassandra

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/gocql/gocql"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

const (
	messageCols    = `message_id, from_user, to_user, body, client_msg_id, sent_at, delivered_at, read_at` + editCols
	selectMessage  = `SELECT ` + messageCols + `, hidden_at FROM month_messages WHERE user_id = ? AND bucket = ? AND message_id = ?`
	selectMessages = `SELECT ` + messageCols + `, hidden_at FROM month_messages WHERE user_id = ? AND bucket = ? AND message_id IN ?`
	// editCols are the columns of edits and deletes (migrations/0005).
	editCols = `, version, edited_at, deleted_at, reply_to, reply_version, reactions`

	selectHistoryMonths = `SELECT months FROM user_conversations WHERE user_id = ? AND peer_id = ?`
	selectHistory       = `SELECT ` + messageCols + ` FROM month_history WHERE user_id = ? AND bucket = ? AND peer_id = ?`
	selectHistoryBefore = selectHistory + ` AND (sent_at, message_id) < (?, ?)`

	unreadCols          = `message_id, from_user, to_user, body, client_msg_id, sent_at, delivered_at` + editCols
	selectUnreadBuckets = `SELECT bucket, pending FROM user_unread_months WHERE user_id = ? AND bucket >= ?`
	selectUnreadFrom    = `SELECT ` + unreadCols + ` FROM month_unread WHERE user_id = ? AND bucket = ? AND (sent_at, message_id) >= (?, ?)`
	selectUnreadAfter   = `SELECT ` + unreadCols + ` FROM month_unread WHERE user_id = ? AND bucket = ? AND (sent_at, message_id) > (?, ?)`

	selectConversations = `SELECT peer_id, last_at, last_id, unread FROM user_conversations WHERE user_id = ?`
)

// maxPageSize caps the rows the driver fetches per round trip.
const maxPageSize = 1000

// row is a message as the views store it.
type row struct {
	id, from, to, body, clientMsgID string
	sentAt, deliveredAt, readAt     time.Time
	// Edits and deletes (edits.go).
	version                       int
	editedAt, deletedAt, hiddenAt time.Time
	replyTo                       string
	replyVersion                  int
	reactions                     map[string]string
}

// cols says which columns a query selects.
type cols int

const (
	unreadRows  cols = iota // unreadCols
	historyRows             // messageCols
	messageRows             // messageCols, hidden_at
)

// dests returns scan destinations for the columns c.
func (r *row) dests(c cols) []any {
	d := []any{&r.id, &r.from, &r.to, &r.body, &r.clientMsgID, &r.sentAt, &r.deliveredAt}
	if c != unreadRows {
		d = append(d, &r.readAt)
	}
	d = append(d, &r.version, &r.editedAt, &r.deletedAt, &r.replyTo, &r.replyVersion, &r.reactions)
	if c == messageRows {
		d = append(d, &r.hiddenAt)
	}
	return d
}

// message converts r; ok is false for a row that only a MessageDelivered or
// MessageRead wrote (its MessageSent was never applied), which does not
// count as a message. The status is read when read_at is set, else
// delivered when delivered_at is; a read message counts as delivered at the
// earlier of the two times.
func (r *row) message() (m domain.Message, ok bool) {
	if r.from == "" {
		return domain.Message{}, false
	}
	m = domain.Message{ID: domain.MessageID(r.id), From: domain.UserID(r.from), To: domain.UserID(r.to), Text: r.body,
		ClientMsgID: r.clientMsgID, SentAt: r.sentAt, Status: domain.StatusSent}
	switch {
	case !r.readAt.IsZero():
		m.Status, m.ReadAt, m.DeliveredAt = domain.StatusRead, r.readAt, r.readAt
		if !r.deliveredAt.IsZero() && r.deliveredAt.Before(r.readAt) {
			m.DeliveredAt = r.deliveredAt
		}
	case !r.deliveredAt.IsZero():
		m.Status, m.DeliveredAt = domain.StatusDelivered, r.deliveredAt
	}
	if r.version > 1 {
		m.Version, m.EditedAt = r.version, r.editedAt.UTC()
	}
	if !r.deletedAt.IsZero() {
		m.Text, m.Version, m.EditedAt, m.Deleted, m.DeletedAt = "", 0, time.Time{}, true, r.deletedAt.UTC()
	}
	m.Hidden = !r.hiddenAt.IsZero()
	m.ReplyTo, m.ReplyVersion = domain.MessageID(r.replyTo), r.replyVersion
	if len(r.reactions) > 0 {
		parseReactions(&m, r.reactions) // edits.go
	}
	return m, true
}

// Message implements projections.Reader. An ID that was not made by
// domain.NewID is domain.ErrNotFound.
func (v *Views) Message(ctx context.Context, user domain.UserID, id domain.MessageID) (domain.Message, error) {
	b, err := idBucket(id)
	if err != nil {
		return domain.Message{}, domain.ErrNotFound
	}
	var r row
	err = v.session.Query(selectMessage, user, b, id).WithContext(ctx).Scan(r.dests(messageRows)...)
	if errors.Is(err, gocql.ErrNotFound) {
		return domain.Message{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.Message{}, fmt.Errorf("read message %s: %w", id, err)
	}
	m, ok := r.message()
	if !ok || !m.Involves(user) {
		return domain.Message{}, domain.ErrNotFound
	}
	return m, nil
}

// collect appends the messages iter yields to out until out holds want,
// then closes iter.
func collect(iter *gocql.Iter, c cols, out []domain.Message, want int) ([]domain.Message, error) {
	var r row
	dests := r.dests(c)
	for len(out) < want && iter.Scan(dests...) {
		if m, ok := r.message(); ok {
			out = append(out, m)
		}
		r = row{}
	}
	return out, iter.Close()
}

// messagePage cuts out (which holds up to limit+1 messages) to limit and
// returns the cursor of its last message when a further one exists.
func messagePage(out []domain.Message, limit int, l listing) ([]domain.Message, []byte) {
	if len(out) <= limit {
		return out, nil
	}
	last := out[limit-1]
	return out[:limit], l.seal(cursor{at: last.SentAt, key: string(last.ID)})
}

// listing names what a query pages through. Its cursors carry it
// (domain.SealCursor around the store's cursor), so a cursor of another
// listing, user or peer is refused with CodeInvalidCursor, as is any
// cursor of the layout before it (a bare kind, time and key).
type listing struct {
	kind       byte // the store's cursor kind: cursorUnread, ...
	user, peer domain.UserID
}

// listingKinds maps the store's cursor kinds to the envelope's.
var listingKinds = map[byte]domain.CursorKind{
	cursorUnread:        domain.CursorUnread,
	cursorHistory:       domain.CursorHistory,
	cursorConversations: domain.CursorConversations,
}

func (l listing) seal(c cursor) []byte {
	return domain.SealCursor(listingKinds[l.kind], l.user, l.peer, c.encode(l.kind))
}

// open decodes a cursor of l; nil is the start (ok false).
func (l listing) open(b []byte) (c cursor, ok bool, err error) {
	if b == nil {
		return cursor{}, false, nil
	}
	inner, err := domain.OpenCursor(listingKinds[l.kind], l.user, l.peer, b)
	if err != nil {
		return cursor{}, false, err
	}
	return decodeCursor(l.kind, inner)
}

// Unread implements projections.Reader: it walks the months that still
// hold unread messages, oldest first, starting each at its oldest unread
// message, so the tombstones of messages already read are not scanned.
func (v *Views) Unread(ctx context.Context, user domain.UserID, p projections.Page) ([]domain.Message, []byte, error) {
	if err := checkLimit(p.Limit); err != nil {
		return nil, nil, err
	}
	unread := listing{kind: cursorUnread, user: user}
	after, hasAfter, err := unread.open(p.After)
	if err != nil {
		return nil, nil, err
	}
	from := 0
	if hasAfter {
		from = bucketOf(after.at)
	}
	type month struct {
		bucket int
		first  cursor // oldest unread message of the month
	}
	var months []month
	iter := v.session.Query(selectUnreadBuckets, user, from).WithContext(ctx).Iter()
	var (
		bucket  int
		pending map[string]time.Time
	)
	for iter.Scan(&bucket, &pending) {
		if len(pending) == 0 {
			continue
		}
		m := month{bucket: bucket}
		for id, at := range pending {
			if c := (cursor{at: at, key: id}); m.first.key == "" || c.before(m.first) {
				m.first = c
			}
		}
		months = append(months, m)
	}
	if err := iter.Close(); err != nil {
		return nil, nil, fmt.Errorf("read unread months of %s: %w", user, err)
	}
	marks, err := v.readMarkers(ctx, user)
	if err != nil {
		return nil, nil, err
	}
	want := p.Limit + 1
	var out []domain.Message
	for _, m := range months {
		var q *gocql.Query
		if hasAfter && !after.before(m.first) {
			q = v.session.Query(selectUnreadAfter, user, m.bucket, after.at, after.key)
		} else {
			q = v.session.Query(selectUnreadFrom, user, m.bucket, m.first.at, m.first.key)
		}
		iter := q.WithContext(ctx).PageSize(min(want-len(out), maxPageSize)).Iter()
		if out, err = collectUnread(iter, unreadRows, out, want, marks); err != nil {
			return nil, nil, fmt.Errorf("read unread of %s, month %d: %w", user, m.bucket, err)
		}
		if len(out) == want {
			break
		}
	}
	msgs, next := messagePage(out, p.Limit, unread)
	return msgs, next, nil
}

// History implements projections.Reader: it walks the months of the
// conversation that hold messages (the conversation row's months), newest
// first, reading the conversation's slice of each month's partition.
func (v *Views) History(ctx context.Context, user, peer domain.UserID, p projections.Page) ([]domain.Message, []byte, error) {
	if err := checkLimit(p.Limit); err != nil {
		return nil, nil, err
	}
	history := listing{kind: cursorHistory, user: user, peer: peer}
	after, hasAfter, err := history.open(p.After)
	if err != nil {
		return nil, nil, err
	}
	top := math.MaxInt32
	if hasAfter {
		top = bucketOf(after.at)
	}
	var all []int
	err = v.session.Query(selectHistoryMonths, user, peer).WithContext(ctx).Scan(&all)
	if err != nil && !errors.Is(err, gocql.ErrNotFound) {
		return nil, nil, fmt.Errorf("read history months of %s with %s: %w", user, peer, err)
	}
	months := make([]int, 0, len(all))
	for _, b := range all {
		if b <= top {
			months = append(months, b)
		}
	}
	slices.SortFunc(months, func(a, b int) int { return cmp.Compare(b, a) })
	want := p.Limit + 1
	var out []domain.Message
	for _, b := range months {
		q := v.session.Query(selectHistory, user, b, peer)
		if hasAfter && b == top {
			q = v.session.Query(selectHistoryBefore, user, b, peer, after.at, after.key)
		}
		iter := q.WithContext(ctx).PageSize(min(want-len(out), maxPageSize)).Iter()
		if out, err = collect(iter, historyRows, out, want); err != nil {
			return nil, nil, fmt.Errorf("read history of %s with %s, month %d: %w", user, peer, b, err)
		}
		if len(out) == want {
			break
		}
	}
	msgs, next := messagePage(out, p.Limit, history)
	return msgs, next, nil
}

// convRow is one row of the conversations table.
type convRow struct {
	peer   string
	lastAt time.Time
	lastID string
	unread []string
}

// Conversations implements projections.Reader. It reads the user's whole
// conversations partition (one row per peer) and sorts it by last message,
// newest first (ties by peer), then loads the last messages of the page.
func (v *Views) Conversations(ctx context.Context, user domain.UserID, p projections.Page) ([]projections.Conversation, []byte, error) {
	if err := checkLimit(p.Limit); err != nil {
		return nil, nil, err
	}
	convs := listing{kind: cursorConversations, user: user}
	after, hasAfter, err := convs.open(p.After)
	if err != nil {
		return nil, nil, err
	}
	var rows []convRow
	iter := v.session.Query(selectConversations, user).WithContext(ctx).PageSize(maxPageSize).Iter()
	var c convRow
	for iter.Scan(&c.peer, &c.lastAt, &c.lastID, &c.unread) {
		if c.lastID != "" {
			rows = append(rows, c)
		}
		c = convRow{}
	}
	if err := iter.Close(); err != nil {
		return nil, nil, fmt.Errorf("read conversations of %s: %w", user, err)
	}
	slices.SortFunc(rows, func(a, b convRow) int {
		if c := b.lastAt.Compare(a.lastAt); c != 0 {
			return c
		}
		return cmp.Compare(a.peer, b.peer)
	})
	start := 0
	if hasAfter {
		// The first row after the cursor: older, or as old with a greater peer.
		start = len(rows)
		for i, r := range rows {
			if r.lastAt.Before(after.at) || (r.lastAt.Equal(after.at) && r.peer > after.key) {
				start = i
				break
			}
		}
	}
	page := rows[start:min(start+p.Limit, len(rows))]
	marks, err := v.readMarkers(ctx, user)
	if err != nil {
		return nil, nil, err
	}
	last, err := v.lastMessages(ctx, user, page)
	if err != nil {
		return nil, nil, err
	}
	out := make([]projections.Conversation, 0, len(page))
	for _, r := range page {
		m, ok := last[domain.MessageID(r.lastID)]
		if !ok {
			return nil, nil, fmt.Errorf("conversation of %s with %s: last message %s is missing", user, r.peer, r.lastID)
		}
		if m.Hidden { // the user deleted it for themself (edits.go)
			if m, ok, err = v.visibleLast(ctx, user, domain.UserID(r.peer)); err != nil {
				return nil, nil, fmt.Errorf("conversation of %s with %s: %w", user, r.peer, err)
			} else if !ok {
				continue
			}
		}
		out = append(out, projections.Conversation{Peer: domain.UserID(r.peer), Last: m, Unread: unreadAfter(r.unread, marks[domain.UserID(r.peer)])})
	}
	var next []byte
	if start+p.Limit < len(rows) {
		r := page[len(page)-1]
		next = convs.seal(cursor{at: r.lastAt, key: r.peer})
	}
	return out, next, nil
}

// lastMessages loads the last messages of rows, one query per month.
func (v *Views) lastMessages(ctx context.Context, user domain.UserID, rows []convRow) (map[domain.MessageID]domain.Message, error) {
	byMonth := map[int][]string{}
	for _, r := range rows {
		b, err := idBucket(domain.MessageID(r.lastID))
		if err != nil {
			return nil, fmt.Errorf("conversation of %s with %s: %w", user, r.peer, err)
		}
		byMonth[b] = append(byMonth[b], r.lastID)
	}
	var (
		mu   sync.Mutex
		out  = make(map[domain.MessageID]domain.Message, len(rows))
		errs []error
		wg   sync.WaitGroup
	)
	for b, ids := range byMonth {
		wg.Go(func() {
			iter := v.session.Query(selectMessages, user, b, ids).WithContext(ctx).Iter()
			msgs, err := collect(iter, messageRows, nil, len(ids))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("read last messages of %s, month %d: %w", user, b, err))
			}
			for _, m := range msgs {
				out[m.ID] = m
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
