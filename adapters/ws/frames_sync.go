package ws

import (
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// TypeReadUpTo is the server frame of a domain.ConversationRead: the user
// read, on this or another device, every message from peer up to up_to.
// Part of the public protocol: never rename it.
const TypeReadUpTo = "read_up_to"

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
