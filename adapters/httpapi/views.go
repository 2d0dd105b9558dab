package httpapi

import (
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// messageJSON is a message as clients see it. Times are RFC 3339 in UTC;
// delivered_at and read_at are null until then.
type messageJSON struct {
	ID          domain.MessageID `json:"id"`
	From        domain.UserID    `json:"from"`
	To          domain.UserID    `json:"to"`
	Text        string           `json:"text"`
	ClientMsgID *string          `json:"client_msg_id"`
	SentAt      string           `json:"sent_at"`
	Status      string           `json:"status"`
	DeliveredAt *string          `json:"delivered_at"`
	ReadAt      *string          `json:"read_at"`
}

// MessageJSON renders m for clients.
func MessageJSON(m domain.Message) any { return toMessageJSON(m) }

func toMessageJSON(m domain.Message) messageJSON {
	out := messageJSON{ID: m.ID, From: m.From, To: m.To, Text: m.Text, SentAt: ts(m.SentAt), Status: m.Status.String(),
		DeliveredAt: optTS(m.DeliveredAt), ReadAt: optTS(m.ReadAt)}
	if m.ClientMsgID != "" {
		out.ClientMsgID = &m.ClientMsgID
	}
	return out
}

func toMessagesJSON(ms []domain.Message) []messageJSON {
	out := make([]messageJSON, len(ms))
	for i, m := range ms {
		out[i] = toMessageJSON(m)
	}
	return out
}

func ts(t time.Time) string { return domain.FormatTime(t) }

func optTS(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}

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
