package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// inFrame is every field of the server frames the tool reads (see
// docs/websocket.md); parseFrame fills it and skips the rest.
type inFrame struct {
	Type   string // message, receipt, read, ack, ready, …
	Cursor string
	Ref    string // ack
	OK     bool   // ack
	Status string // receipt, read
	ID     string // receipt, read
	// Message is set when the frame has a "message" object (message, ack).
	HasMessage bool
	MessageID  string
	// ClientMsgID is the message's client_msg_id; HasClientMsgID is false
	// when it is null or absent.
	ClientMsgID    string
	HasClientMsgID bool
	// ErrorCode is error.code of a failed ack; HasError says there was an
	// "error" object.
	HasError  bool
	ErrorCode string
}

// Frame types and statuses the tool acts on, so that parseFrame can hand
// out these constants instead of allocating a string for each frame.
var frameWords = []string{"message", "receipt", "read", "ack", "ready", "sent", "delivered"}

// word returns raw as a string, one of frameWords without allocating.
func word(raw []byte) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' {
		inner := raw[1 : len(raw)-1]
		for _, w := range frameWords {
			if string(inner) == w {
				return w, nil
			}
		}
	}
	s, _, err := rawString(raw)
	return s, err
}

// parseFrame decodes the frame b into f (every field reset first). b must
// be one valid JSON object; a known field of the wrong JSON type is an
// error too, as encoding/json would report it. Keys match exactly.
func parseFrame(b []byte, f *inFrame) error {
	*f = inFrame{}
	return eachField(b, func(key []byte, esc bool, raw []byte) (err error) {
		if esc {
			key, err = unescapedKey(key)
			if err != nil {
				return err
			}
		}
		switch string(key) {
		case "type":
			f.Type, err = word(raw)
		case "status":
			f.Status, err = word(raw)
		case "cursor":
			f.Cursor, _, err = rawString(raw)
		case "ref":
			f.Ref, _, err = rawString(raw)
		case "id":
			f.ID, _, err = rawString(raw)
		case "ok":
			f.OK, err = rawBool(raw)
		case "message": // a repeated member replaces the earlier one, as in encoding/json
			f.MessageID, f.ClientMsgID, f.HasClientMsgID = "", "", false
			f.HasMessage, err = nested(raw, func(k []byte, raw []byte) (err error) {
				switch string(k) {
				case "id":
					f.MessageID, _, err = rawString(raw)
				case "client_msg_id":
					f.ClientMsgID, f.HasClientMsgID, err = rawString(raw)
				}
				return err
			})
		case "error":
			f.ErrorCode = ""
			f.HasError, err = nested(raw, func(k []byte, raw []byte) (err error) {
				if string(k) == "code" {
					f.ErrorCode, _, err = rawString(raw)
				}
				return err
			})
		}
		return err
	})
}

// nested calls fn for each member of the raw object value raw (keys
// unescaped); null is no object (false), any other type errType.
func nested(raw []byte, fn func(key, raw []byte) error) (bool, error) {
	switch {
	case string(raw) == "null":
		return false, nil
	case raw[0] != '{':
		return false, errType
	}
	return true, eachField(raw, func(key []byte, esc bool, v []byte) (err error) {
		if esc {
			if key, err = unescapedKey(key); err != nil {
				return err
			}
		}
		return fn(key, v)
	})
}

// unescapedKey decodes a key that holds escapes.
func unescapedKey(key []byte) ([]byte, error) {
	q := make([]byte, 0, len(key)+2)
	q = append(append(append(q, '"'), key...), '"')
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// dialWS opens base's /ws as token's owner (?since=cursor unless empty),
// with the subprotocols a browser would offer.
func dialWS(ctx context.Context, base, token, cursor string) (*websocket.Conn, error) {
	u := strings.Replace(base, "http", "ws", 1) + "/ws"
	if cursor != "" {
		u += "?since=" + url.QueryEscape(cursor)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{
		Subprotocols: []string{"tidings.v1", "bearer." + token},
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial /ws: %d: %w", resp.StatusCode, err)
		}
		return nil, fmt.Errorf("dial /ws: %w", err)
	}
	c.SetReadLimit(1 << 20)
	return c, nil
}

// frameBufs holds read buffers between frames, so that an idle
// connection keeps none; one grown past maxPooledFrame is dropped.
var frameBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// readFrame reads c's next frame into f. A frame that does not parse is
// errBadFrame; the connection can go on. It waits until a frame arrives or
// c is closed, with no context: coder/websocket arms a context.AfterFunc
// for every read with a cancellable one, which cost the tool ≈ 10 % of
// its CPU. The frame is read into a pooled buffer taken only once the
// frame has begun to arrive.
func readFrame(c *websocket.Conn, f *inFrame) error {
	_, r, err := c.Reader(context.Background())
	if err != nil {
		return err
	}
	bp := frameBufs.Get().(*[]byte)
	b := (*bp)[:0]
	defer func() {
		if cap(b) <= maxPooledFrame {
			*bp = b
			frameBufs.Put(bp)
		}
	}()
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if parseFrame(b, f) != nil {
		return errBadFrame
	}
	return nil
}

const maxPooledFrame = 64 << 10

var errBadFrame = errors.New("bad frame")
