package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// device is one WebSocket-connected device of a simulated user. It keeps
// the cursor of the last item it processed and, when the connection drops,
// reconnects with ?since=<cursor>, resending the reads and sends the old
// connection did not get an ack for.
type device struct {
	run    *runner
	owner  user
	user   int // index of the user
	index  int // user*devices + d
	first  bool
	frames *atomic.Int64 // message frames received by the whole run (test hooks)

	mu      sync.Mutex
	conn    *websocket.Conn
	cursor  string
	up      chan struct{} // closed once the current connection is ready
	waiters map[string]chan inFrame
	reads   map[string]string // ref of an unacknowledged read → message id
}

// inFrame is every field of the server frames the tool reads.
type inFrame struct {
	Type    string       `json:"type"`
	Cursor  string       `json:"cursor"`
	Ref     string       `json:"ref"`
	OK      bool         `json:"ok"`
	Status  string       `json:"status"`
	ID      string       `json:"id"`
	Message *restMessage `json:"message"`
	Error   *apiError    `json:"error"`
}

func newDevice(r *runner, owner user, userIdx, d int, frames *atomic.Int64) *device {
	return &device{run: r, owner: owner, user: userIdx, index: userIdx*r.cfg.Devices + d, first: d == 0,
		frames: frames, up: make(chan struct{}), waiters: map[string]chan inFrame{}, reads: map[string]string{}}
}

// connect dials once; the first connection of a run must succeed.
func (d *device) connect(ctx context.Context) (*websocket.Conn, error) {
	u := strings.Replace(d.run.base, "http", "ws", 1) + "/ws"
	d.mu.Lock()
	if d.cursor != "" {
		u += "?since=" + url.QueryEscape(d.cursor)
	}
	d.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{
		Subprotocols: []string{"tidings.v1", "bearer." + d.owner.Token},
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

// serve reads frames until ctx ends, reconnecting after failures. c is the
// first connection.
func (d *device) serve(ctx context.Context, c *websocket.Conn) {
	backoff := 50 * time.Millisecond
	for {
		d.mu.Lock()
		d.conn = c
		d.mu.Unlock()
		d.readLoop(ctx, c)
		d.disconnected()
		_ = c.CloseNow()
		for {
			if ctx.Err() != nil {
				return
			}
			time.Sleep(backoff)
			var err error
			if c, err = d.connect(ctx); err == nil {
				d.run.ledger.count(func(s *counters) { s.Reconnect++ })
				backoff = 50 * time.Millisecond
				break
			}
			backoff = min(backoff*2, time.Second)
		}
	}
}

func (d *device) readLoop(ctx context.Context, c *websocket.Conn) {
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return
		}
		now := time.Now()
		var f inFrame
		if err := json.Unmarshal(b, &f); err != nil {
			d.run.errs.add("bad_frame")
			continue
		}
		switch f.Type {
		case "message":
			n := d.frames.Add(1)
			if int(n) == d.run.cfg.dropFrame {
				continue // test hook: the client "loses" this frame
			}
			d.onMessage(ctx, f, now)
			if int(n) == d.run.cfg.dupFrame {
				d.onMessage(ctx, f, now) // test hook: the frame is processed twice
			}
		case "receipt":
			if f.Status == "read" {
				d.run.ledger.receipt(d.index, f.ID, now)
			}
		case "ready":
			d.mu.Lock()
			if f.Cursor != "" {
				d.cursor = f.Cursor
			}
			close(d.up)
			pending := make(map[string]string, len(d.reads))
			for ref, id := range d.reads {
				pending[ref] = id
			}
			d.mu.Unlock()
			for ref, id := range pending {
				d.write(ctx, map[string]string{"type": "read", "ref": ref, "id": id})
			}
		case "ack":
			d.onAck(f)
		}
		if f.Cursor != "" && f.Type != "ready" {
			d.mu.Lock()
			d.cursor = f.Cursor
			d.mu.Unlock()
		}
	}
}

func (d *device) onMessage(ctx context.Context, f inFrame, at time.Time) {
	if f.Message == nil || f.Message.ClientMsgID == nil {
		d.run.errs.add("message_without_client_msg_id")
		return
	}
	r := d.run.ledger.received(d.index, *f.Message.ClientMsgID, f.Message.ID, at)
	if r == nil || !d.first || !d.run.shouldRead(r.seq) {
		return
	}
	ref := "r" + f.Message.ID
	d.mu.Lock()
	d.reads[ref] = f.Message.ID
	d.mu.Unlock()
	d.run.ledger.readSent(f.Message.ID, time.Now())
	d.write(ctx, map[string]string{"type": "read", "ref": ref, "id": f.Message.ID})
}

func (d *device) onAck(f inFrame) {
	d.mu.Lock()
	w, isSend := d.waiters[f.Ref]
	delete(d.waiters, f.Ref)
	id, isRead := d.reads[f.Ref]
	if isRead && (f.OK || f.Error == nil || f.Error.Code != "internal") {
		delete(d.reads, f.Ref)
	}
	d.mu.Unlock()
	switch {
	case isSend:
		w <- f
	case isRead && f.OK:
		d.run.ledger.readAcked(id)
	case isRead:
		d.run.errs.add("read_" + f.Error.Code)
	}
}

// disconnected fails the sends waiting for acks (they retry on the next
// connection) and arms the ready signal again.
func (d *device) disconnected() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for ref, w := range d.waiters {
		close(w)
		delete(d.waiters, ref)
	}
	select {
	case <-d.up:
		d.up = make(chan struct{})
	default:
	}
	d.conn = nil
}

func (d *device) write(ctx context.Context, frame any) {
	b, _ := json.Marshal(frame)
	d.mu.Lock()
	c := d.conn
	d.mu.Unlock()
	if c == nil {
		return // the next ready resends reads; sends retry
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = c.Write(wctx, websocket.MessageText, b)
}

// send sends a message over the socket and waits for its ack, retrying on
// the next connection (same client_msg_id) when this one drops.
func (d *device) send(ctx context.Context, to, text, cid string) (string, error) {
	ref := "s" + cid
	for {
		d.mu.Lock()
		up := d.up
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-up:
		}
		w := make(chan inFrame, 1)
		d.mu.Lock()
		d.waiters[ref] = w
		d.mu.Unlock()
		d.write(ctx, map[string]string{"type": "send", "ref": ref, "to": to, "text": text, "client_msg_id": cid})
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(15 * time.Second):
			d.mu.Lock()
			delete(d.waiters, ref)
			d.mu.Unlock()
			d.run.errs.add("ack_timeout")
		case f, ok := <-w:
			switch {
			case !ok:
				d.run.errs.add("disconnected")
			case f.OK && f.Message != nil:
				return f.Message.ID, nil
			case f.Error != nil && f.Error.Code == "rate_limited":
				d.run.errs.add(f.Error.Code)
				return "", errRateLimited
			case f.Error != nil && f.Error.Code != "internal":
				d.run.errs.add(f.Error.Code)
				return "", errors.New(f.Error.Code)
			default:
				d.run.errs.add("internal")
			}
		}
		d.run.ledger.count(func(s *counters) { s.Retries++ })
		time.Sleep(50 * time.Millisecond)
	}
}
