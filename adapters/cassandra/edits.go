package cassandra

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gocql/gocql"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

var _ projections.VersionReader = (*Views)(nil)

// Write timestamps of the edit and delete events (see keys.go for the
// others), all above tsSent and tsRead, so a redelivered MessageSent never
// undoes them:
//
//   - tsEdit: an edit's cells; a higher version beats a lower one, and of
//     two edits of the same version (a race of two commands) the later
//     edited_at wins, as in the embedded store.
//   - tsDeleted: a delete for everyone nulls the text and the edit cells
//     and deletes the versions above every edit, so a late edit changes
//     nothing.
//   - tsHidden: a delete for me deletes the user's history and unread
//     rows above everything else, so no later write brings them back.
func tsEdit(sentAt time.Time, version int, editedAt time.Time) int64 {
	ms := min(max(editedAt.Sub(sentAt).Milliseconds(), 0), 1<<20-1) // the edit window is 15 minutes: < 2^20 ms
	return sentAt.UnixMicro() + 2 + int64(min(version, 1<<15))<<20 + ms
}

func tsDeleted(sentAt time.Time) int64 { return sentAt.UnixMicro() + 1<<40 }

// tsReact is a reaction's timestamp: the later reaction (by its time, to
// the millisecond) wins, above every edit (< 2^36) and below a delete.
func tsReact(sentAt, at time.Time) int64 {
	return sentAt.UnixMicro() + 1<<36 + min(max(at.Sub(sentAt).Milliseconds(), 0), 1<<38)
}

func tsHidden(sentAt time.Time) int64 { return sentAt.UnixMicro() + 1<<41 }

const (
	setMessageEdit = `UPDATE month_messages USING TIMESTAMP ? SET body = ?, version = ?, edited_at = ?
WHERE user_id = ? AND bucket = ? AND message_id = ?`
	setHistoryEdit = `UPDATE month_history USING TIMESTAMP ? SET body = ?, version = ?, edited_at = ?
WHERE user_id = ? AND bucket = ? AND peer_id = ? AND sent_at = ? AND message_id = ?`
	setUnreadEdit = `UPDATE month_unread USING TIMESTAMP ? SET body = ?, version = ?, edited_at = ?
WHERE user_id = ? AND bucket = ? AND sent_at = ? AND message_id = ?`
	insertVersion = `INSERT INTO message_versions (user_id, bucket, message_id, version, body, at) VALUES (?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`

	setMessageDeleted = `UPDATE month_messages USING TIMESTAMP ? SET body = null, version = null, edited_at = null, reply_to = null, reply_version = null, reactions = null, deleted_at = ?
WHERE user_id = ? AND bucket = ? AND message_id = ?`
	setHistoryDeleted = `UPDATE month_history USING TIMESTAMP ? SET body = null, version = null, edited_at = null, reply_to = null, reply_version = null, reactions = null, deleted_at = ?
WHERE user_id = ? AND bucket = ? AND peer_id = ? AND sent_at = ? AND message_id = ?`
	setUnreadDeleted = `UPDATE month_unread USING TIMESTAMP ? SET body = null, version = null, edited_at = null, reply_to = null, reply_version = null, reactions = null, deleted_at = ?
WHERE user_id = ? AND bucket = ? AND sent_at = ? AND message_id = ?`

	setMessageReply = `UPDATE month_messages USING TIMESTAMP ? SET reply_to = ?, reply_version = ? WHERE user_id = ? AND bucket = ? AND message_id = ?`
	setHistoryReply = `UPDATE month_history USING TIMESTAMP ? SET reply_to = ?, reply_version = ?
WHERE user_id = ? AND bucket = ? AND peer_id = ? AND sent_at = ? AND message_id = ?`
	setUnreadReply = `UPDATE month_unread USING TIMESTAMP ? SET reply_to = ?, reply_version = ?
WHERE user_id = ? AND bucket = ? AND sent_at = ? AND message_id = ?`
	deleteVersions = `DELETE FROM message_versions USING TIMESTAMP ? WHERE user_id = ? AND bucket = ? AND message_id = ?`

	setMessageHidden = `UPDATE month_messages USING TIMESTAMP ? SET hidden_at = ? WHERE user_id = ? AND bucket = ? AND message_id = ?`
	deleteHistoryRow = `DELETE FROM month_history USING TIMESTAMP ? WHERE user_id = ? AND bucket = ? AND peer_id = ? AND sent_at = ? AND message_id = ?`

	setMessageReaction = `UPDATE month_messages USING TIMESTAMP ? SET reactions[?] = ? WHERE user_id = ? AND bucket = ? AND message_id = ?`
	setHistoryReaction = `UPDATE month_history USING TIMESTAMP ? SET reactions[?] = ?
WHERE user_id = ? AND bucket = ? AND peer_id = ? AND sent_at = ? AND message_id = ?`
	setUnreadReaction = `UPDATE month_unread USING TIMESTAMP ? SET reactions[?] = ?
WHERE user_id = ? AND bucket = ? AND sent_at = ? AND message_id = ?`
	delMessageReaction = `DELETE reactions[?] FROM month_messages USING TIMESTAMP ? WHERE user_id = ? AND bucket = ? AND message_id = ?`
	delHistoryReaction = `DELETE reactions[?] FROM month_history USING TIMESTAMP ?
WHERE user_id = ? AND bucket = ? AND peer_id = ? AND sent_at = ? AND message_id = ?`
	delUnreadReaction = `DELETE reactions[?] FROM month_unread USING TIMESTAMP ?
WHERE user_id = ? AND bucket = ? AND sent_at = ? AND message_id = ?`

	selectOriginal = `SELECT from_user, body, version, deleted_at FROM month_messages WHERE user_id = ? AND bucket = ? AND message_id = ?`
	selectVersions = `SELECT version, body, at FROM message_versions WHERE user_id = ? AND bucket = ? AND message_id = ?`
)

// original names a party's copy of a message.
type original struct {
	user domain.UserID
	id   domain.MessageID
}

// addEdit plans the rows of the edit and delete events; it is plan.add
// for them.
func (p *plan) addEdit(c projections.Change) error {
	switch e := c.Event.(type) {
	case domain.MessageEdited:
		return p.edited(e, c.User, c.Pos)
	case domain.MessageDeleted:
		return p.deleted(e, c.User, c.Pos)
	case domain.MessageHidden:
		return p.hidden(e, c.User, c.Pos)
	case domain.MessageReacted:
		return p.reacted(e, c.User, c.Pos)
	}
	return fmt.Errorf("unknown event type %s", c.Event.Type())
}

// edited plans user u's new text, version and edit time on the message,
// history and (recipient) unread rows, the version's row, and, on the
// first edit of u's copy, the row of version 1 (the text sent, which
// Views.editOriginals read before the plan).
func (p *plan) edited(e domain.MessageEdited, u domain.UserID, pos domain.Position) error {
	if err := checkParty(e.ID, e.From, e.To, u); err != nil {
		return err
	}
	idb, b, err := buckets(e.ID, e.SentAt)
	if err != nil {
		return err
	}
	ts := tsEdit(e.SentAt, e.Version, e.EditedAt)
	p.put(once(setMessageEdit, partKey{u, idb}, e.ID, ts), ts, e.Text, e.Version, e.EditedAt, u, idb, e.ID)
	p.put(once(setHistoryEdit, partKey{u, b}, e.ID, ts), ts, e.Text, e.Version, e.EditedAt, u, b, peerOf(e.From, e.To, u), e.SentAt, e.ID)
	p.put(once(insertVersion, partKey{u, idb}, e.ID, ts), u, idb, e.ID, e.Version, e.Text, e.EditedAt, ts)
	if text, ok := p.originals[original{u, e.ID}]; ok {
		first := tsSent(e.SentAt)
		p.put(once(insertVersion, partKey{u, idb}, e.ID, first), u, idb, e.ID, 1, text, e.SentAt, first)
	}
	if u == e.To {
		p.put(once(setUnreadEdit, partKey{u, b}, e.ID, ts), ts, e.Text, e.Version, e.EditedAt, u, b, e.SentAt, e.ID)
		p.feed(e, u, pos)
	}
	return nil
}

// deleted plans user u's tombstone: no text, no edit, no versions.
func (p *plan) deleted(e domain.MessageDeleted, u domain.UserID, pos domain.Position) error {
	if err := checkParty(e.ID, e.From, e.To, u); err != nil {
		return err
	}
	idb, b, err := buckets(e.ID, e.SentAt)
	if err != nil {
		return err
	}
	ts := tsDeleted(e.SentAt)
	p.put(once(setMessageDeleted, partKey{u, idb}, e.ID, ts), ts, e.DeletedAt, u, idb, e.ID)
	p.put(once(setHistoryDeleted, partKey{u, b}, e.ID, ts), ts, e.DeletedAt, u, b, peerOf(e.From, e.To, u), e.SentAt, e.ID)
	p.put(once(deleteVersions, partKey{u, idb}, e.ID, ts), ts, u, idb, e.ID)
	if u == e.To {
		p.put(once(setUnreadDeleted, partKey{u, b}, e.ID, ts), ts, e.DeletedAt, u, b, e.SentAt, e.ID)
		p.feed(e, u, pos)
	}
	return nil
}

// hidden plans the removal of the message from u's history and inbox
// (and unread count), and marks u's copy hidden.
func (p *plan) hidden(e domain.MessageHidden, u domain.UserID, pos domain.Position) error {
	if err := checkParty(e.ID, e.From, e.To, u); err != nil {
		return err
	}
	if u != e.By {
		return fmt.Errorf("message %s hidden by %s: %s's rows do not change", e.ID, e.By, u)
	}
	idb, b, err := buckets(e.ID, e.SentAt)
	if err != nil {
		return err
	}
	ts := tsHidden(e.SentAt)
	own := partKey{u, 0}
	p.put(once(setMessageHidden, partKey{u, idb}, e.ID, ts), ts, e.HiddenAt, u, idb, e.ID)
	p.put(once(deleteHistoryRow, partKey{u, b}, e.ID, ts), ts, u, b, peerOf(e.From, e.To, u), e.SentAt, e.ID)
	if u == e.To {
		p.put(once(deleteUnread, partKey{u, b}, e.ID, ts), ts, u, b, e.SentAt, e.ID)
		p.put(once(removePending, own, e.ID, ts), e.ID, ts, u, b)
		p.put(once(removeConvUnread, own, e.ID, ts), ts, []string{string(e.ID)}, u, e.From)
		p.feed(e, u, pos)
	}
	return nil
}

// reacted plans e.By's reaction cell ("<version>:<emoji>") on user u's
// message, history and (recipient) unread rows, or its deletion.
func (p *plan) reacted(e domain.MessageReacted, u domain.UserID, pos domain.Position) error {
	if err := checkParty(e.ID, e.From, e.To, u); err != nil {
		return err
	}
	idb, b, err := buckets(e.ID, e.SentAt)
	if err != nil {
		return err
	}
	ts := tsReact(e.SentAt, e.At)
	peer := peerOf(e.From, e.To, u)
	if e.Emoji == "" {
		p.put(once(delMessageReaction, partKey{u, idb}, e.ID, ts), string(e.By), ts, u, idb, e.ID)
		p.put(once(delHistoryReaction, partKey{u, b}, e.ID, ts), string(e.By), ts, u, b, peer, e.SentAt, e.ID)
		if u == e.To {
			p.put(once(delUnreadReaction, partKey{u, b}, e.ID, ts), string(e.By), ts, u, b, e.SentAt, e.ID)
		}
	} else {
		val := strconv.Itoa(e.Version) + ":" + e.Emoji
		p.put(once(setMessageReaction, partKey{u, idb}, e.ID, ts), ts, string(e.By), val, u, idb, e.ID)
		p.put(once(setHistoryReaction, partKey{u, b}, e.ID, ts), ts, string(e.By), val, u, b, peer, e.SentAt, e.ID)
		if u == e.To {
			p.put(once(setUnreadReaction, partKey{u, b}, e.ID, ts), ts, string(e.By), val, u, b, e.SentAt, e.ID)
		}
	}
	if u == e.To {
		p.feed(e, u, pos)
	}
	return nil
}

// parseReactions fills m.Reactions from a row's reactions cell.
func parseReactions(m *domain.Message, cell map[string]string) {
	for by, val := range cell {
		v, emoji, ok := strings.Cut(val, ":")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || (by != string(m.From) && by != string(m.To)) {
			continue
		}
		m.Reactions[m.ReactionIndex(domain.UserID(by))] = domain.Reaction{By: domain.UserID(by), Emoji: emoji, Version: n}
	}
}

// reply plans the reply_to and reply_version cells of user u's rows of a
// send that replies, with the send's timestamp (plan.sent calls it for
// such sends only).
func (p *plan) reply(e domain.MessageSent, u domain.UserID, idb, b int, ts int64) {
	p.put(once(setMessageReply, partKey{u, idb}, e.ID, ts), ts, e.ReplyTo, e.ReplyVersion, u, idb, e.ID)
	p.put(once(setHistoryReply, partKey{u, b}, e.ID, ts), ts, e.ReplyTo, e.ReplyVersion, u, b, peerOf(e.From, e.To, u), e.SentAt, e.ID)
	if u == e.To {
		p.put(once(setUnreadReply, partKey{u, b}, e.ID, ts), ts, e.ReplyTo, e.ReplyVersion, u, b, e.SentAt, e.ID)
	}
}

// editOriginals returns the text sent of each party's copy of a message
// that an edit among changes edits for the first time (the copy has no
// version yet): from a MessageSent of the same changes, else read from
// the copy's row. These reads, one per party of an edit, are the only
// reads edits cost, and only edits pay them.
func (v *Views) editOriginals(ctx context.Context, changes []projections.Change) (map[original]string, error) {
	var (
		out  map[original]string
		sent map[domain.MessageID]string
	)
	if !slices.ContainsFunc(changes, func(c projections.Change) bool { _, ok := c.Event.(domain.MessageEdited); return ok }) {
		return nil, nil // a batch without edits pays one pass over its changes, nothing else
	}
	for _, c := range changes {
		if e, ok := c.Event.(domain.MessageSent); ok {
			if sent == nil {
				sent = map[domain.MessageID]string{}
			}
			sent[e.ID] = e.Text
		}
	}
	for _, c := range changes {
		e, ok := c.Event.(domain.MessageEdited)
		if !ok {
			continue
		}
		key := original{c.User, e.ID}
		if _, done := out[key]; done {
			continue
		}
		if out == nil {
			out = map[original]string{}
		}
		if text, ok := sent[e.ID]; ok {
			out[key] = text
			continue
		}
		idb, err := idBucket(e.ID)
		if err != nil {
			return nil, fmt.Errorf("edit of %s: %w", e.ID, err)
		}
		var (
			from, body string
			version    int
			deletedAt  time.Time
		)
		err = v.session.Query(selectOriginal, c.User, idb, e.ID).WithContext(ctx).Scan(&from, &body, &version, &deletedAt)
		switch {
		case errors.Is(err, gocql.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("read the text sent of %s: %w", e.ID, err)
		case from != "" && version == 0 && deletedAt.IsZero():
			out[key] = body
		}
	}
	return out, nil
}

// Versions implements projections.VersionReader.
func (v *Views) Versions(ctx context.Context, user domain.UserID, id domain.MessageID) ([]domain.MessageVersion, error) {
	m, err := v.Message(ctx, user, id)
	switch {
	case err != nil:
		return nil, err
	case m.Hidden:
		return nil, domain.ErrNotFound
	case m.Deleted:
		return []domain.MessageVersion{}, nil
	case m.Version <= 1:
		return []domain.MessageVersion{{Version: 1, Text: m.Text, At: m.SentAt}}, nil
	}
	idb, err := idBucket(id)
	if err != nil {
		return nil, domain.ErrNotFound
	}
	iter := v.session.Query(selectVersions, user, idb, id).WithContext(ctx).Iter()
	var (
		out []domain.MessageVersion
		mv  domain.MessageVersion
	)
	for iter.Scan(&mv.Version, &mv.Text, &mv.At) {
		mv.At = mv.At.UTC()
		out = append(out, mv)
		mv = domain.MessageVersion{}
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("read versions of %s: %w", id, err)
	}
	return out, nil
}

// visibleLast returns the newest message of user's conversation with peer
// that user has not hidden (ok false: none), for a conversation whose last
// message user hid.
func (v *Views) visibleLast(ctx context.Context, user, peer domain.UserID) (domain.Message, bool, error) {
	msgs, _, err := v.History(ctx, user, peer, projections.Page{Limit: 1})
	if err != nil || len(msgs) == 0 {
		return domain.Message{}, false, err
	}
	return msgs[0], true, nil
}
