package ws

import (
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// ack is an encoded ack frame, ready to queue.
type ack struct{ frame []byte }

// The frames every message causes are appended by hand, field for field
// as encoding/json writes messageFrame, receiptFrame and ackFrame (with
// HTML escaping off): TestAppendedFramesMatchEncoding holds them to it.

// appendMessageFrame appends {"type":"message","cursor":…,"message":{…}};
// a nil cursor is left out (the unread backlog of a fresh connection).
func (h *Hub) appendMessageFrame(b []byte, cursor *domain.Position, m domain.Message) []byte {
	b = append(b, `{"type":"message",`...)
	if cursor != nil {
		b = append(b, `"cursor":"`...)
		b = append(cursor.AppendText(b), `",`...)
	}
	b = append(b, `"message":`...)
	return append(h.d.MessageJSON(b, m), '}')
}

// appendReceiptFrame appends a receipt (typ TypeReceipt) or a read
// (TypeRead) frame of it.
func appendReceiptFrame(b []byte, typ string, it projections.FeedItem) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","cursor":"`...)
	b = append(it.Cursor.AppendText(b), `","status":"`...)
	b = append(b, it.Status.String()...)
	b = append(b, `","id":`...)
	b = domain.AppendJSONString(b, string(it.Message.ID))
	b = append(b, `,"at":"`...)
	return append(domain.AppendTime(b, it.At), `"}`...)
}

// appendAckFrame appends the ack of a command that succeeded.
func (h *Hub) appendAckFrame(b []byte, ref string, m domain.Message, pos *domain.Position) []byte {
	b = append(b, `{"type":"ack",`...)
	if ref != "" {
		b = append(b, `"ref":`...)
		b = append(domain.AppendJSONString(b, ref), ',')
	}
	b = append(b, `"ok":true,"message":`...)
	b = h.d.MessageJSON(b, m)
	if pos != nil {
		b = append(b, `,"position":"`...)
		b = append(pos.AppendText(b), '"')
	}
	return append(b, '}')
}
