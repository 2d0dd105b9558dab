package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// reflectedMessage is the struct the API encoded messages from before
// AppendMessageJSON: the wire format must not change.
type reflectedMessage struct {
	ID          domain.MessageID `json:"id"`
	From        domain.UserID    `json:"from"`
	To          domain.UserID    `json:"to"`
	Text        string           `json:"text"`
	ClientMsgID *string          `json:"client_msg_id"`
	SentAt      string           `json:"sent_at"`
	Status      string           `json:"status"`
	DeliveredAt *string          `json:"delivered_at"`
	ReadAt      *string          `json:"read_at"`
	Erased      bool             `json:"erased,omitempty"`
}

func reflected(m domain.Message) []byte {
	out := reflectedMessage{ID: m.ID, From: m.From, To: m.To, Text: m.Text, SentAt: domain.FormatTime(m.SentAt), Status: m.Status.String(),
		Erased: m.Erased}
	if m.ClientMsgID != "" {
		out.ClientMsgID = &m.ClientMsgID
	}
	if !m.DeliveredAt.IsZero() {
		s := domain.FormatTime(m.DeliveredAt)
		out.DeliveredAt = &s
	}
	if !m.ReadAt.IsZero() {
		s := domain.FormatTime(m.ReadAt)
		out.ReadAt = &s
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(out)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendMessageJSONKeepsTheWireFormat(t *testing.T) {
	at := time.Date(2026, 12, 7, 20, 1, 2, 30e6, time.FixedZone("x", 3600))
	tests := []struct {
		name string
		m    domain.Message
	}{
		{"sent", domain.Message{ID: "01M", From: "a", To: "b", Text: "hi", SentAt: at, Status: domain.StatusSent}},
		{"read with client id", domain.Message{ID: "01M", From: "a", To: "b", Text: "hi", ClientMsgID: "c-1", SentAt: at,
			Status: domain.StatusRead, DeliveredAt: at.Add(time.Second), ReadAt: at.Add(2 * time.Second)}},
		{"text to escape", domain.Message{ID: "01M", From: "a", To: "b", Text: "<b>\"quoted\"</b>\n\tand \u2028 é 👋", SentAt: at,
			Status: domain.StatusDelivered, DeliveredAt: at}},
		{"erased", domain.Message{ID: "01M", From: "a", To: "b", SentAt: at, Status: domain.StatusRead, DeliveredAt: at, ReadAt: at, Erased: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := reflected(tc.m)
			if got := AppendMessageJSON(nil, tc.m); !bytes.Equal(got, want) {
				t.Fatalf("AppendMessageJSON:\n got %s\nwant %s", got, want)
			}
			var buf bytes.Buffer
			err := jsonEncode(&buf, toMessageJSON(tc.m)) // as REST responses are written
			if got := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("REST encoding: %s, %v\nwant %s", got, err, want)
			}
		})
	}
}
