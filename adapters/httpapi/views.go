package httpapi

import (
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// messageJSON is a message as clients see it:
//
//	{"id","from","to","text","client_msg_id","sent_at","status","delivered_at","read_at"}
//
// Times are RFC 3339 in UTC with milliseconds; client_msg_id is null when
// the send had none, delivered_at and read_at are null until then. It
// encodes itself (AppendMessageJSON) without reflection.
type messageJSON domain.Message

// MarshalJSON implements json.Marshaler.
func (m messageJSON) MarshalJSON() ([]byte, error) {
	return AppendMessageJSON(make([]byte, 0, 256+len(m.Text)), domain.Message(m)), nil
}

// MessageJSON renders m for clients as AppendMessageJSON does.
func MessageJSON(m domain.Message) any { return messageJSON(m) }

// AppendMessageJSON appends m as a JSON object for clients (messageJSON),
// the same bytes encoding/json would write with HTML escaping off.
func AppendMessageJSON(b []byte, m domain.Message) []byte {
	b = append(b, `{"id":`...)
	b = domain.AppendJSONString(b, string(m.ID))
	b = append(b, `,"from":`...)
	b = domain.AppendJSONString(b, string(m.From))
	b = append(b, `,"to":`...)
	b = domain.AppendJSONString(b, string(m.To))
	b = append(b, `,"text":`...)
	b = domain.AppendJSONString(b, m.Text)
	b = append(b, `,"client_msg_id":`...)
	if m.ClientMsgID != "" {
		b = domain.AppendJSONString(b, m.ClientMsgID)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"sent_at":"`...)
	b = append(domain.AppendTime(b, m.SentAt), `","status":"`...)
	b = append(b, m.Status.String()...)
	b = append(b, `","delivered_at":`...)
	b = appendOptTime(b, m.DeliveredAt)
	b = append(b, `,"read_at":`...)
	b = appendOptTime(b, m.ReadAt)
	if m.Erased {
		b = append(b, `,"erased":true`...)
	}
	if m.Version > 1 || m.Deleted || m.ReplyTo != "" || m.Reactions != ([2]domain.Reaction{}) {
		b = appendEditsJSON(b, m) // edits.go
	}
	return append(b, '}')
}

func appendOptTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	return append(domain.AppendTime(b, t), '"')
}

func toMessageJSON(m domain.Message) messageJSON { return messageJSON(m) }

func toMessagesJSON(ms []domain.Message) []messageJSON {
	out := make([]messageJSON, len(ms))
	for i, m := range ms {
		out[i] = toMessageJSON(m)
	}
	return out
}

func ts(t time.Time) string { return domain.FormatTime(t) }

type userJSON struct {
	ID        domain.UserID `json:"id"`
	Name      string        `json:"name"`
	CreatedAt string        `json:"created_at"`
}

type conversationJSON struct {
	Peer        domain.UserID `json:"peer"`
	LastMessage messageJSON   `json:"last_message"`
	UnreadCount int           `json:"unread_count"`
}

func toConversationsJSON(cs []projections.Conversation) []conversationJSON {
	out := make([]conversationJSON, len(cs))
	for i, c := range cs {
		out[i] = conversationJSON{Peer: c.Peer, LastMessage: toMessageJSON(c.Last), UnreadCount: c.Unread}
	}
	return out
}
