package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

var _ projections.VersionReader = (*Views)(nil)

// rowEdits is what edits and deletes add to a message row (row version 3):
// the text's version and last edit time, the tombstone of a delete for
// everyone, and the mark of a delete for me.
type rowEdits struct {
	Version   int
	EditedAt  time.Time
	Deleted   bool
	DeletedAt time.Time
	Hidden    bool
	// ReplyTo and ReplyVersion name the message a reply answers.
	ReplyTo      string
	ReplyVersion int
	// Reactions: [0] the sender's, [1] the recipient's (a removed one
	// keeps its time, so a late repeat of an older change loses).
	Reactions [2]rowReaction
}

type rowReaction struct {
	Emoji   string
	Version int
	At      time.Time
}

const (
	editDeleted = 1 << 0
	editHidden  = 1 << 1
)

// editsOf is what m says of its row's edits, without the reactions: those
// keep their times in the row, so a row is rewritten with them from the
// row it replaces (restored), never from a domain.Message.
func editsOf(m domain.Message) rowEdits {
	return rowEdits{Version: m.Version, EditedAt: m.EditedAt, Deleted: m.Deleted, DeletedAt: m.DeletedAt, Hidden: m.Hidden,
		ReplyTo: string(m.ReplyTo), ReplyVersion: m.ReplyVersion}
}

// reactions are the row's reactions as domain.Message holds them.
func (e rowEdits) reactions(from, to domain.UserID) (out [2]domain.Reaction) {
	for i, r := range e.Reactions {
		if r.Emoji != "" {
			by := from
			if i == 1 {
				by = to
			}
			out[i] = domain.Reaction{By: by, Emoji: r.Emoji, Version: r.Version} // its time stays in the row (the latest wins)
		}
	}
	return out
}

func (e rowEdits) encode(w *rowWriter) {
	w.uint(uint64(max(e.Version, 0)))
	w.time(e.EditedAt)
	w.time(e.DeletedAt)
	var flags byte
	if e.Deleted {
		flags |= editDeleted
	}
	if e.Hidden {
		flags |= editHidden
	}
	w.b = append(w.b, flags)
	w.str(e.ReplyTo)
	w.uint(uint64(max(e.ReplyVersion, 0)))
	for _, r := range e.Reactions {
		w.str(r.Emoji)
		w.uint(uint64(max(r.Version, 0)))
		w.time(r.At)
	}
}

func (e *rowEdits) decode(r *rowReader) {
	v := r.uint()
	if v > 1<<31 {
		r.err = errCorruptRow
	}
	e.Version = int(v)
	e.EditedAt, e.DeletedAt = r.time(), r.time()
	if r.err != nil || len(r.b) < 1 {
		r.err = errCorruptRow
		return
	}
	e.Deleted, e.Hidden = r.b[0]&editDeleted != 0, r.b[0]&editHidden != 0
	r.b = r.b[1:]
	e.ReplyTo = r.str()
	if rv := r.uint(); rv <= 1<<31 {
		e.ReplyVersion = int(rv)
	} else {
		r.err = errCorruptRow
	}
	for i := range e.Reactions {
		rr := &e.Reactions[i]
		rr.Emoji = r.str()
		if v := r.uint(); v <= 1<<31 {
			rr.Version = int(v)
		} else {
			r.err = errCorruptRow
		}
		rr.At = r.time()
	}
	if len(r.b) != 0 {
		r.err = errCorruptRow
	}
}

// versionKey is the row of one version of an edited message:
// v/<user>/e/<id>/<version, 4 bytes big-endian> -> text, time.
func versionKey(u domain.UserID, id domain.MessageID, version int) []byte {
	return binary.BigEndian.AppendUint32([]byte(userPrefix(u)+"e/"+string(id)+"/"), uint32(version))
}

func encodeVersion(text string, at time.Time) []byte {
	w := rowWriter{b: make([]byte, 0, 16+len(text))}
	w.b = append(w.b, rowV1)
	w.str(text)
	w.time(at)
	return w.b
}

// applyEdit writes the rows of the edit and delete events; it is
// Views.apply for them.
func (v *Views) applyEdit(b *txn, c projections.Change) (projections.FeedItem, bool, error) {
	switch e := c.Event.(type) {
	case domain.MessageEdited:
		return v.applyEdited(b, e, c.User, c.Pos)
	case domain.MessageDeleted:
		return v.applyDeleted(b, e, c.User, c.Pos)
	case domain.MessageHidden:
		return v.applyHidden(b, e, c.User, c.Pos)
	case domain.MessageReacted:
		return v.applyReacted(b, e, c.User, c.Pos)
	}
	return projections.FeedItem{}, false, fmt.Errorf("unknown event type %s", c.Event.Type())
}

// applyEdited replaces u's text of the message if the edit's version is
// above the row's (or the same, edited later: two commands raced), keeping
// every version (the first edit also keeps
// version 1, the text sent). A deleted message, or one u does not hold,
// is left alone.
func (v *Views) applyEdited(b *txn, e domain.MessageEdited, u domain.UserID, pos domain.Position) (projections.FeedItem, bool, error) {
	sm, err := v.loadMessage(b, u, e.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return projections.FeedItem{}, false, nil
	}
	if err != nil {
		return projections.FeedItem{}, false, err
	}
	cur := max(sm.Edits.Version, 1)
	if sm.Edits.Deleted || e.Version < cur || (e.Version == cur && !e.EditedAt.After(sm.Edits.EditedAt)) {
		return projections.FeedItem{}, false, nil
	}
	if cur == 1 {
		_ = b.Set(versionKey(u, e.ID, 1), encodeVersion(sm.Text, sm.SentAt), nil)
	}
	_ = b.Set(versionKey(u, e.ID, e.Version), encodeVersion(e.Text, e.EditedAt), nil)
	sm.Text, sm.Edits.Version, sm.Edits.EditedAt = e.Text, e.Version, e.EditedAt
	if err := b.setRow(msgKey(u, e.ID), encodeMessage(sm)); err != nil {
		return projections.FeedItem{}, false, err
	}
	if u != e.To || sm.Edits.Hidden {
		return projections.FeedItem{}, false, nil
	}
	return putFeed(b, e, pos)
}

// applyDeleted makes u's row a tombstone: no text, no version, and the
// version rows deleted.
func (v *Views) applyDeleted(b *txn, e domain.MessageDeleted, u domain.UserID, pos domain.Position) (projections.FeedItem, bool, error) {
	sm, err := v.loadMessage(b, u, e.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return projections.FeedItem{}, false, nil
	}
	if err != nil {
		return projections.FeedItem{}, false, err
	}
	if sm.Edits.Deleted {
		return projections.FeedItem{}, false, nil
	}
	for ver := 1; ver <= sm.Edits.Version; ver++ {
		_ = b.Delete(versionKey(u, e.ID, ver), nil)
	}
	sm.Text = ""
	sm.Edits = rowEdits{Deleted: true, DeletedAt: e.DeletedAt, Hidden: sm.Edits.Hidden}
	if err := b.setRow(msgKey(u, e.ID), encodeMessage(sm)); err != nil {
		return projections.FeedItem{}, false, err
	}
	if u != e.To || sm.Edits.Hidden {
		return projections.FeedItem{}, false, nil
	}
	return putFeed(b, e, pos)
}

// applyHidden takes the message out of u's listings: its history entry,
// and if unread its inbox entry and count. The row stays, marked, so a
// retried send's copy does not bring it back.
func (v *Views) applyHidden(b *txn, e domain.MessageHidden, u domain.UserID, pos domain.Position) (projections.FeedItem, bool, error) {
	sm, err := v.loadMessage(b, u, e.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return projections.FeedItem{}, false, nil
	}
	if err != nil {
		return projections.FeedItem{}, false, err
	}
	if sm.Edits.Hidden {
		return projections.FeedItem{}, false, nil
	}
	m := sm.message()
	_ = b.Delete(append(historyPrefix(u, m.Peer(u)), timeID(m.SentAt, m.ID)...), nil)
	if u == m.To && m.Status < domain.StatusRead {
		_ = b.Delete(unreadKey(u, m.SentAt, m.ID), nil)
		if _, err := v.bumpConversation(b, u, m.From, domain.Message{ID: m.ID, SentAt: m.SentAt}, -1); err != nil {
			return projections.FeedItem{}, false, err
		}
	}
	sm.Edits.Hidden = true
	if err := b.setRow(msgKey(u, e.ID), encodeMessage(sm)); err != nil {
		return projections.FeedItem{}, false, err
	}
	return putFeed(b, e, pos)
}

// applyReacted sets e.By's reaction on u's copy unless the copy holds a
// reaction of e.By at or after e.At (the latest change wins, also when an
// older one is applied again later). A deleted copy keeps none.
func (v *Views) applyReacted(b *txn, e domain.MessageReacted, u domain.UserID, pos domain.Position) (projections.FeedItem, bool, error) {
	sm, err := v.loadMessage(b, u, e.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return projections.FeedItem{}, false, nil
	}
	if err != nil {
		return projections.FeedItem{}, false, err
	}
	i := 1
	if e.By == domain.UserID(sm.From) {
		i = 0
	}
	if cur := sm.Edits.Reactions[i]; sm.Edits.Deleted || !e.At.After(cur.At) {
		return projections.FeedItem{}, false, nil
	}
	sm.Edits.Reactions[i] = rowReaction{Emoji: e.Emoji, Version: e.Version, At: e.At}
	if err := b.setRow(msgKey(u, e.ID), encodeMessage(sm)); err != nil {
		return projections.FeedItem{}, false, err
	}
	if u != e.To || sm.Edits.Hidden {
		return projections.FeedItem{}, false, nil
	}
	return putFeed(b, e, pos)
}

// Versions implements projections.VersionReader.
func (v *Views) Versions(_ context.Context, user domain.UserID, id domain.MessageID) ([]domain.MessageVersion, error) {
	sm, err := v.loadMessage(cached{v}, user, id)
	if err != nil {
		return nil, err
	}
	if sm.Edits.Hidden {
		return nil, domain.ErrNotFound
	}
	if sm.Edits.Deleted {
		return []domain.MessageVersion{}, nil
	}
	if sm.Edits.Version <= 1 {
		return []domain.MessageVersion{{Version: 1, Text: sm.Text, At: sm.SentAt.UTC()}}, nil
	}
	prefix := []byte(userPrefix(user) + "e/" + string(id) + "/")
	it, err := v.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	var out []domain.MessageVersion
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()[len(prefix):]
		if len(k) != 4 || len(it.Value()) < 1 || it.Value()[0] != rowV1 {
			_ = it.Close()
			return nil, fmt.Errorf("corrupt version row of %s", id)
		}
		r := rowReader{b: it.Value()[1:]}
		text, at := r.str(), r.time()
		if r.err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("decode version of %s: %w", id, r.err)
		}
		out = append(out, domain.MessageVersion{Version: int(binary.BigEndian.Uint32(k)), Text: text, At: at})
	}
	return out, errors.Join(it.Error(), it.Close())
}

// visibleLast returns the newest message of user's conversation with peer
// that user has not hidden (ok false: none), for a conversation row whose
// last message user hid.
func (v *Views) visibleLast(user, peer domain.UserID) (domain.Message, bool, error) {
	msgs, _, err := scanMessages(v, listing{domain.CursorHistory, user, peer}, historyPrefix(user, peer), projections.Page{Limit: 1}, true)
	if err != nil || len(msgs) == 0 {
		return domain.Message{}, false, err
	}
	return msgs[0], true, nil
}
