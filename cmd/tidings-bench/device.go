package main

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/tidings-chat/tidings/domain"
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
	waiters map[string]chan ack
	reads   map[string]string // ref of an unacknowledged read → message id

	ackTimer *time.Timer // send's, reused for every message
}

func newDevice(r *runner, owner user, userIdx, d int, frames *atomic.Int64) *device {
	return &device{run: r, owner: owner, user: userIdx, index: userIdx*r.cfg.Devices + d, first: d == 0,
		frames: frames, up: make(chan struct{}), waiters: map[string]chan ack{}, reads: map[string]string{}}
}

// ready returns a channel closed once the current connection is ready.
func (d *device) ready() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.up
}

// connect dials once; the first connection of a run must succeed.
func (d *device) connect(ctx context.Context) (*websocket.Conn, error) {
	d.mu.Lock()
	cursor := d.cursor
	d.mu.Unlock()
	return dialWS(ctx, d.run.base, d.owner.Token, cursor)
}

// serve reads frames until ctx ends, reconnecting after failures. c is the
// first connection.
func (d *device) serve(ctx context.Context, c *websocket.Conn) {
	backoff := 50 * time.Millisecond
	for {
		d.mu.Lock()
		if ctx.Err() != nil { // closeAll ran: it cancels ctx before it looks at d.conn
			d.mu.Unlock()
			_ = c.CloseNow()
			return
		}
		d.conn = c
		d.mu.Unlock()
		d.readLoop(c)
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

func (d *device) readLoop(c *websocket.Conn) {
	hooks := d.run.cfg.dropFrame > 0 || d.run.cfg.dupFrame > 0 || d.run.cfg.dropReadAck > 0 || d.run.cfg.dropReceipt > 0
	var f inFrame
	for {
		if err := readFrame(c, &f); err == errBadFrame {
			d.run.errs.add("bad_frame")
			continue
		} else if err != nil {
			return
		}
		now := time.Now()
		switch f.Type {
		case "message":
			if !hooks {
				d.onMessage(c, &f, now)
				continue
			}
			n := d.frames.Add(1)
			if int(n) == d.run.cfg.dropFrame {
				continue // test hook: the client "loses" this frame
			}
			d.onMessage(c, &f, now)
			if int(n) == d.run.cfg.dupFrame {
				d.onMessage(c, &f, now) // test hook: the frame is processed twice
			}
		case "ready":
			d.onReady(c, &f)
		case "ack":
			if hooks && strings.HasPrefix(f.Ref, "r") && int(d.run.hookReadAcks.Add(1)) == d.run.cfg.dropReadAck {
				continue // test hook: the answer to a read is "lost"
			}
			d.onAck(c, &f)
		case "receipt":
			if f.Status == "read" {
				if hooks && int(d.run.hookReceipts.Add(1)) == d.run.cfg.dropReceipt {
					continue // test hook: a read receipt is "lost"
				}
				d.run.ledger.receipt(d.index, f.ID, now)
			}
			d.setCursor(f.Cursor)
		default:
			d.setCursor(f.Cursor)
		}
	}
}

// setCursor remembers the cursor of a frame the device has processed.
func (d *device) setCursor(cursor string) {
	if cursor == "" {
		return
	}
	d.mu.Lock()
	d.cursor = cursor
	d.mu.Unlock()
}

// onReady marks the connection ready and resends the reads that were not
// acknowledged on an earlier one.
func (d *device) onReady(c *websocket.Conn, f *inFrame) {
	d.mu.Lock()
	if f.Cursor != "" {
		d.cursor = f.Cursor
	}
	select {
	case <-d.up: // a second ready on one connection: nothing new to signal
	default:
		close(d.up)
	}
	pending := make(map[string]string, len(d.reads))
	for ref, id := range d.reads {
		pending[ref] = id
	}
	d.mu.Unlock()
	for ref, id := range pending {
		d.writeRead(c, ref, id)
	}
}

func (d *device) onMessage(c *websocket.Conn, f *inFrame, at time.Time) {
	if !f.HasMessage || !f.HasClientMsgID {
		d.run.errs.add("message_without_client_msg_id")
		d.setCursor(f.Cursor)
		return
	}
	var read func(seq int) bool
	if d.first {
		read = d.run.shouldRead
	}
	if !d.run.ledger.received(d.index, f.ClientMsgID, f.MessageID, at, read) {
		d.setCursor(f.Cursor)
		return
	}
	id := f.MessageID
	ref := "r" + id
	d.mu.Lock()
	d.reads[ref] = id
	if f.Cursor != "" {
		d.cursor = f.Cursor
	}
	d.mu.Unlock()
	d.writeRead(c, ref, id)
}

func (d *device) onAck(c *websocket.Conn, f *inFrame) {
	d.mu.Lock()
	w, isSend := d.waiters[f.Ref]
	delete(d.waiters, f.Ref)
	id, isRead := d.reads[f.Ref]
	if isRead && (f.OK || !transient(f.ErrorCode)) {
		delete(d.reads, f.Ref) // an internal error is retried (below)
	}
	d.mu.Unlock()
	switch {
	case isSend:
		w <- ack{ok: f.OK, id: f.MessageID, hasMessage: f.HasMessage, code: f.ErrorCode}
	case isRead && f.OK:
		d.run.ledger.readAcked(id)
	case isRead:
		code := cmp.Or(f.ErrorCode, "unknown")
		d.run.errs.add("read_" + code)
		if !transient(code) {
			d.run.ledger.readFailed(id, code)
			break
		}
		// A backend was away (say, Cassandra restarting): try again in a
		// second on this connection, as a client app would; a new
		// connection resends it anyway.
		ref := f.Ref
		time.AfterFunc(time.Second, func() {
			d.mu.Lock()
			_, still := d.reads[ref]
			d.mu.Unlock()
			if still {
				d.writeRead(c, ref, id)
			}
		})
	}
}

// ack is what send needs of the ack of its frame.
type ack struct {
	ok, hasMessage bool
	id, code       string
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

// outBufs holds the buffers frames are encoded into: c.Write copies the
// frame, so the buffer goes back at once.
var outBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeFrame encodes a frame with build and writes it to c, ignoring
// errors: a failed write shows as a dropped connection to readLoop, the
// next ready resends reads, and sends retry. The write has no deadline of
// its own (no timer per frame): it ends when c is closed, which the reader
// does when the connection fails and closeAll does at the end of the run.
func writeFrame(c *websocket.Conn, build func(b []byte) []byte) {
	bp := outBufs.Get().(*[]byte)
	b := build((*bp)[:0])
	_ = c.Write(context.Background(), websocket.MessageText, b)
	if cap(b) <= maxPooledFrame {
		*bp = b
		outBufs.Put(bp)
	}
}

// writeRead writes {"type":"read","ref":ref,"id":id}.
func (d *device) writeRead(c *websocket.Conn, ref, id string) {
	writeFrame(c, func(b []byte) []byte {
		b = append(b, `{"type":"read","ref":`...)
		b = domain.AppendJSONString(b, ref)
		b = append(b, `,"id":`...)
		b = domain.AppendJSONString(b, id)
		return append(b, '}')
	})
}

// send sends a message over the socket and waits for its ack, retrying on
// the next connection (same client_msg_id) when this one drops. One
// goroutine at a time may call it per device (it owns d.ackTimer).
func (d *device) send(ctx context.Context, to, text, cid string) (string, error) {
	ref := "s" + cid
	if d.ackTimer == nil {
		d.ackTimer = time.NewTimer(time.Hour)
	}
	for {
		up := d.ready()
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-up:
		}
		w := make(chan ack, 1)
		d.mu.Lock()
		c := d.conn
		if c == nil || up != d.up { // dropped since: wait for the next ready
			d.mu.Unlock()
			continue
		}
		d.waiters[ref] = w
		d.mu.Unlock()
		writeFrame(c, func(b []byte) []byte {
			b = append(b, `{"type":"send","ref":`...)
			b = domain.AppendJSONString(b, ref)
			b = append(b, `,"to":`...)
			b = domain.AppendJSONString(b, to)
			b = append(b, `,"text":`...)
			b = domain.AppendJSONString(b, text)
			b = append(b, `,"client_msg_id":`...)
			b = domain.AppendJSONString(b, cid)
			return append(b, '}')
		})
		d.ackTimer.Reset(ackTimeout)
		select {
		case <-ctx.Done():
			d.ackTimer.Stop()
			return "", ctx.Err()
		case <-d.ackTimer.C:
			d.mu.Lock()
			delete(d.waiters, ref)
			d.mu.Unlock()
			d.run.errs.add("ack_timeout")
		case a, ok := <-w:
			d.ackTimer.Stop()
			switch {
			case !ok:
				d.run.errs.add("disconnected")
			case a.ok && a.hasMessage && a.id != "":
				return a.id, nil
			case a.code == "rate_limited":
				d.run.errs.add(a.code)
				return "", errRateLimited
			case !a.ok && a.code != "" && !transient(a.code):
				d.run.errs.add(a.code)
				return "", errors.New(a.code)
			default:
				d.run.errs.add(cmp.Or(a.code, "internal"))
			}
		}
		d.run.ledger.count(func(s *counters) { s.Retries++ })
		time.Sleep(50 * time.Millisecond)
	}
}

// ackTimeout is how long send waits for the ack of its frame before it
// sends it again.
const ackTimeout = 15 * time.Second

// transient reports whether an error code means "try again": the server
// had a backend away (unavailable, with a retry time) or failed (internal).
func transient(code string) bool { return code == "internal" || code == "unavailable" }
