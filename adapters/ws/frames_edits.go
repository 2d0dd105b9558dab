package ws

import (
	"strconv"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// Frame types of edits and deletes (server to client; docs/websocket.md).
// Part of the public protocol: never rename one.
const (
	// TypeEdited: a message the user received was edited:
	// {"type":"edited","cursor","id","version","text","edited_at"}.
	TypeEdited = "edited"
	// TypeDeleted: a message the user received was deleted for everyone:
	// {"type":"deleted","cursor","id","at"}; drop its text.
	TypeDeleted = "deleted"
	// TypeHidden: the user deleted a message for themself on some device:
	// {"type":"hidden","cursor","id","at"}; drop the message.
	TypeHidden = "hidden"
	// TypeReaction: the sender of a message the user received, or the
	// user on another device, set (or, with emoji "", removed) a reaction:
	// {"type":"reaction","cursor","id","by","emoji","version","at"}.
	TypeReaction = "reaction"
)

// editFrame renders the feed items of edits and deletes, and reports
// whether it is one. A nil frame means nothing is to be told: an item
// whose message the user has hidden since, or an edit of a message
// deleted since (a backlog loads the message as it is now).
func editFrame(b []byte, it projections.FeedItem) ([]byte, bool) {
	m := it.Message
	switch it.Kind {
	case projections.FeedEdited:
		if m.Hidden || m.Deleted {
			return nil, true
		}
		b = append(b, `{"type":"edited","cursor":"`...)
		b = append(it.Cursor.AppendText(b), `","id":`...)
		b = domain.AppendJSONString(b, string(m.ID))
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(m.Version), 10)
		b = append(b, `,"text":`...)
		b = domain.AppendJSONString(b, m.Text)
		b = append(b, `,"edited_at":"`...)
		return append(domain.AppendTime(b, m.EditedAt), `"}`...), true
	case projections.FeedDeleted, projections.FeedHidden:
		typ := TypeDeleted
		if it.Kind == projections.FeedHidden {
			typ = TypeHidden
		}
		b = append(b, `{"type":"`...)
		b = append(b, typ...)
		b = append(b, `","cursor":"`...)
		b = append(it.Cursor.AppendText(b), `","id":`...)
		b = domain.AppendJSONString(b, string(m.ID))
		b = append(b, `,"at":"`...)
		return append(domain.AppendTime(b, it.At), `"}`...), true
	case projections.FeedReactedBySender, projections.FeedReactedByRecipient:
		if m.Hidden {
			return nil, true
		}
		i, by := 0, m.From
		if it.Kind == projections.FeedReactedByRecipient {
			i, by = 1, m.To
		}
		r := m.Reactions[i]
		b = append(b, `{"type":"reaction","cursor":"`...)
		b = append(it.Cursor.AppendText(b), `","id":`...)
		b = domain.AppendJSONString(b, string(m.ID))
		b = append(b, `,"by":`...)
		b = domain.AppendJSONString(b, string(by))
		b = append(b, `,"emoji":`...)
		b = domain.AppendJSONString(b, r.Emoji)
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(r.Version), 10)
		b = append(b, `,"at":"`...)
		return append(domain.AppendTime(b, it.At), `"}`...), true
	case projections.FeedMessage:
		if m.Hidden {
			return nil, true
		}
	}
	return b, false
}
