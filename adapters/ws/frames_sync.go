package ws

import (
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// TypeReadUpTo is, from the server, the frame of a domain.ConversationRead:
// the user read, on this or another device, every message from peer up to
// up_to; from a client, {"type":"read_up_to","id":…} moves the marker of
// the conversation with the message's sender up to message id (like POST
// /conversations/{peer}/read), acked with the message. Part of the public
// protocol: never rename it.
const TypeReadUpTo = "read_up_to"

// TypeSent is the server frame of a domain.MessageEcho: the user sent
// this message, from this or another device; it is a message frame's
// layout. Part of the public protocol: never rename it.
const TypeSent = "sent"

// appendSentFrame appends {"type":"sent","cursor":…,"message":{…}}, laid
// out like messageFrame.
func (h *Hub) appendSentFrame(b []byte, it projections.FeedItem) []byte {
	b = append(b, `{"type":"sent","cursor":"`...)
	b = append(it.Cursor.AppendText(b), `","message":`...)
	return append(h.d.MessageJSON(b, it.Message), '}')
}

// readUpToFrame is what appendReadUpToFrame writes (a test holds them
// equal).
type readUpToFrame struct {
	Type   string `json:"type"`
	Cursor string `json:"cursor"`
	Peer   string `json:"peer"`
	UpTo   string `json:"up_to"`
	At     string `json:"at"`
}

// appendReadUpToFrame appends the read_up_to frame of it.
func appendReadUpToFrame(b []byte, it projections.FeedItem) []byte {
	b = append(b, `{"type":"read_up_to","cursor":"`...)
	b = append(it.Cursor.AppendText(b), `","peer":`...)
	b = domain.AppendJSONString(b, string(it.Message.From))
	b = append(b, `,"up_to":`...)
	b = domain.AppendJSONString(b, string(it.Message.ID))
	b = append(b, `,"at":"`...)
	return append(domain.AppendTime(b, it.At), `"}`...)
}

// sentHere notes that this connection sent message id: its echo (a sent
// frame) goes to the user's other connections, and this one, which has
// the message in its ack, drops it like any item it has seen. (An echo
// that reaches the hub before the ack is noted still goes out; clients
// match sent frames by message id.)
func (c *conn) sentHere(id domain.MessageID) {
	key := itemKey(projections.FeedItem{Kind: projections.FeedSent, Message: domain.Message{ID: id}})
	c.mu.Lock()
	c.seen.add(key)
	c.mu.Unlock()
}
