package ws

import (
	"bytes"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

func TestAppendedFramesMatchEncoding(t *testing.T) {
	h := &Hub{d: Deps{MessageJSON: httpapi.AppendMessageJSON}}
	at := time.Date(2026, 12, 7, 20, 1, 2, 30e6, time.UTC)
	m := domain.Message{ID: "01M", From: "a", To: "b", Text: "<hi> \"there\"\n", ClientMsgID: "c1", SentAt: at,
		Status: domain.StatusRead, DeliveredAt: at, ReadAt: at.Add(time.Second)}
	pos := domain.Position{Partition: 3, Offset: 12345}
	rc := projections.FeedItem{Cursor: pos, Kind: projections.FeedReceipt, Status: domain.StatusRead, Message: m, At: at}
	tests := []struct {
		name      string
		got, want []byte
	}{
		{"message with cursor", h.appendMessageFrame(nil, &pos, m),
			encode(messageFrame{Type: TypeMessage, Cursor: pos.String(), Message: httpapi.MessageJSON(m)})},
		{"message of the unread backlog", h.appendMessageFrame(nil, nil, m),
			encode(messageFrame{Type: TypeMessage, Message: httpapi.MessageJSON(m)})},
		{"receipt", appendReceiptFrame(nil, TypeReceipt, rc),
			encode(receiptFrame{Type: TypeReceipt, Cursor: pos.String(), Status: "read", ID: m.ID, At: domain.FormatTime(at)})},
		{"read", appendReceiptFrame(nil, TypeRead, rc),
			encode(receiptFrame{Type: TypeRead, Cursor: pos.String(), Status: "read", ID: m.ID, At: domain.FormatTime(at)})},
		{"ack with position", h.appendAckFrame(nil, "s\"1", m, &pos),
			encode(ackFrame{Type: TypeAck, Ref: "s\"1", OK: true, Message: httpapi.MessageJSON(m), Position: pos.String()})},
		{"ack without ref or position", h.appendAckFrame(nil, "", m, nil),
			encode(ackFrame{Type: TypeAck, OK: true, Message: httpapi.MessageJSON(m)})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Equal(tc.got, tc.want) {
				t.Fatalf("appended:\n %s\nencoding/json:\n %s", tc.got, tc.want)
			}
		})
	}
}
