package ws

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/tidings-chat/tidings/domain"
)

// Frame types. They are part of the public protocol: never rename one.
const (
	// Server to client.
	TypeMessage = "message"
	TypeReceipt = "receipt"
	// TypeReady ends the backlog of a new connection.
	TypeReady = "ready"
	// Both ways: the server acknowledges every client frame with an ack;
	// a client acks a pushed message to mark it delivered.
	TypeAck = "ack"
	// Client to server: mark a message read. Server to client: a message
	// was read (on this or another device of the user).
	TypeRead = "read"
	TypeSend = "send"
	// Ephemeral frames (typing.go, presence.go): never stored, never in the
	// log. Both ways: a client says it is typing to a peer; the server
	// tells the peer. Client to server: watch or unwatch a user's
	// presence. Server to client: a watched user's presence changed.
	TypeTyping   = "typing"
	TypeWatch    = "watch"
	TypeUnwatch  = "unwatch"
	TypePresence = "presence"
)

// MaxRefLen is the longest "ref" a client frame may carry, in bytes.
const MaxRefLen = 64

// clientFrame is every field any client frame may carry.
type clientFrame struct {
	Type        string `json:"type"`
	Ref         string `json:"ref"`
	ID          string `json:"id"`
	To          string `json:"to"`
	Text        string `json:"text"`
	ClientMsgID string `json:"client_msg_id"`
	State       string `json:"state"`    // typing: "start" or "stop"
	User        string `json:"user"`     // watch, unwatch: whose presence
	ReplyTo     string `json:"reply_to"` // send: the message replied to (issue 12)
}

type messageFrame struct {
	Type    string `json:"type"`
	Cursor  string `json:"cursor,omitempty"`
	Message any    `json:"message"`
}

// receiptFrame is a receipt (to the sender) or a read (to the reader's
// devices).
type receiptFrame struct {
	Type   string           `json:"type"`
	Cursor string           `json:"cursor"`
	Status string           `json:"status"`
	ID     domain.MessageID `json:"id"`
	At     string           `json:"at"`
}

// readyFrame says the backlog is sent: from here on the frames are live.
// Cursor is where to resume from if nothing newer arrives.
type readyFrame struct {
	Type   string `json:"type"`
	Cursor string `json:"cursor"`
	Reset  bool   `json:"reset,omitempty"`
}

type ackFrame struct {
	Type     string     `json:"type"`
	Ref      string     `json:"ref,omitempty"`
	OK       bool       `json:"ok"`
	Error    *errorJSON `json:"error,omitempty"`
	Message  any        `json:"message,omitempty"`
	Position string     `json:"position,omitempty"`
	Presence any        `json:"presence,omitempty"` // the answer to a watch
}

type errorJSON struct {
	Code    domain.Code `json:"code"`
	Message string      `json:"message"`
	// RetryAfter is set with rate_limited: whole seconds to wait before
	// sending again (REST says the same in its Retry-After header).
	RetryAfter int `json:"retry_after,omitempty"`
}

// decodeFrame parses one client frame strictly (no unknown fields, one
// JSON object). On error it still returns the frame's ref when it could be
// read, so the error ack can name the frame.
func decodeFrame(b []byte) (clientFrame, error) {
	var f clientFrame
	if !utf8.Valid(b) {
		return f, domain.Errorf(domain.CodeInvalidUTF8, "frame is not valid UTF-8")
	}
	if sf, ok := scanFrame(b); ok {
		f = sf
	} else if err := domain.DecodeStrict(b, &f, "frame"); err != nil {
		// Name the frame in the error ack when its ref can be read.
		var probe struct {
			Ref string `json:"ref"`
		}
		f = clientFrame{}
		if json.NewDecoder(bytes.NewReader(b)).Decode(&probe) == nil && len(probe.Ref) <= MaxRefLen { // the first value, whatever follows
			f.Ref = probe.Ref
		}
		return f, err
	}
	if len(f.Ref) > MaxRefLen {
		f.Ref = ""
		return f, domain.Errorf(domain.CodeInvalidField, "ref is longer than %d bytes", MaxRefLen)
	}
	switch f.Type {
	case TypeAck, TypeRead, TypeReadUpTo:
		if f.ID == "" {
			return f, domain.Errorf(domain.CodeMissingField, "id is required")
		}
	case TypeSend:
	case TypeTyping, TypeWatch, TypeUnwatch:
		return f, checkEphemeralFrame(f)
	case "":
		return f, domain.Errorf(domain.CodeMissingField, "type is required")
	default:
		return f, domain.Errorf(domain.CodeInvalidField, "unknown frame type %q", f.Type)
	}
	return f, nil
}

func encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// The frame types hold only strings, times and the REST message JSON:
	// encoding cannot fail.
	_ = enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func ts(t time.Time) string { return domain.FormatTime(t) }
