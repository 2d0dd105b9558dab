package ws

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// conn is one device's connection. Three goroutines serve it: the reader
// (the HTTP handler's own, which also runs the commands of client frames),
// the writer (the only one that writes data frames, from the queue out)
// and the pinger. kill asks the writer to close the connection; it never
// blocks, so the hub can call it while pushing.
type conn struct {
	hub  *Hub
	user domain.UserID
	ws   *websocket.Conn
	out  chan []byte

	once   sync.Once
	done   chan struct{} // closed by kill
	code   websocket.StatusCode
	reason string

	// Feed items: mu guards them. Until the backlog is sent (resuming),
	// live items wait in pending; last is the cursor offset of the last
	// item queued, and items at or before it are dropped.
	mu       sync.Mutex
	resuming bool
	pending  []pendingItem
	last     int64
	seen     recent // items already queued, by itemKey
}

type pendingItem struct {
	key    string
	offset int64
	frame  []byte
}

// itemKey names what an item tells, so the same news at another cursor (a
// retried send appended twice, a receipt derived twice) is written once.
func itemKey(it projections.FeedItem) string {
	return fmt.Sprintf("%d/%s/%d", it.Kind, it.Message.ID, it.Status)
}

// recent remembers the last recentSize keys.
type recent struct {
	set  map[string]struct{}
	ring []string
	next int
}

const recentSize = 4096

// add records key and reports whether it was new.
func (r *recent) add(key string) bool {
	if r.set == nil {
		r.set, r.ring = map[string]struct{}{}, make([]string, recentSize)
	}
	if _, ok := r.set[key]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next], r.set[key] = key, struct{}{}
	r.next = (r.next + 1) % recentSize
	return true
}

func newConn(h *Hub, user domain.UserID, wc *websocket.Conn) *conn {
	wc.SetReadLimit(h.cfg.ReadLimit)
	return &conn{hub: h, user: user, ws: wc, out: make(chan []byte, h.cfg.SendQueue), done: make(chan struct{}),
		resuming: true, last: -1}
}

// push queues a live feed item unless it is not newer than the last one,
// or tells what an item already queued told. While the backlog is being
// sent, live items wait (at most a queue's worth; more closes the
// connection as a slow consumer).
func (c *conn) push(key string, cursor domain.Position, frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cursor.Offset <= c.last {
		return
	}
	if c.resuming {
		if len(c.pending) >= cap(c.out) {
			c.kill(CloseSlowConsumer, "slow consumer, reconnect")
			return
		}
		c.pending = append(c.pending, pendingItem{key, cursor.Offset, frame})
		return
	}
	c.last = cursor.Offset
	if c.seen.add(key) {
		c.enqueue(frame)
	}
}

// enqueue queues a frame for writing without blocking. When the queue is
// full the connection is killed with CloseSlowConsumer and the frame is
// dropped.
func (c *conn) enqueue(frame []byte) {
	select {
	case <-c.done:
		return
	default:
	}
	select {
	case c.out <- frame:
	default:
		c.hub.log.Info("websocket slow consumer", "user", c.user, "queue", cap(c.out))
		c.kill(CloseSlowConsumer, "slow consumer, reconnect")
	}
}

// enqueueWait queues a frame, waiting for room: the backlog is paced by
// the client instead of overflowing the queue.
func (c *conn) enqueueWait(ctx context.Context, frame []byte) error {
	select {
	case c.out <- frame:
		return nil
	case <-c.done:
		return context.Canceled
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kill removes c from the hub at once (no more pushes) and has the writer
// close the connection with code. Only the first call counts.
func (c *conn) kill(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		c.code, c.reason = code, reason
		close(c.done)
		c.hub.remove(c)
	})
}

// serve runs c until the connection ends: it sends the backlog after since
// (or the unread messages when since is empty), then live items, while
// reading client frames.
func (c *conn) serve(since string) {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); c.writeLoop() }()
	go func() { defer wg.Done(); c.pingLoop() }()
	go func() { defer wg.Done(); c.resume(since) }()
	c.readLoop()
	c.kill(websocket.StatusNormalClosure, "")
	wg.Wait()
}

func (c *conn) writeLoop() {
	defer func() { _ = c.ws.Close(c.code, c.reason) }()
	for {
		// A killed connection writes nothing more, even with frames queued.
		select {
		case <-c.done:
			return
		default:
		}
		select {
		case <-c.done:
			return
		case frame := <-c.out:
			ctx, cancel := context.WithTimeout(context.Background(), c.hub.cfg.WriteTimeout)
			err := c.ws.Write(ctx, websocket.MessageText, frame)
			cancel()
			if err != nil {
				// The library has closed the connection.
				c.kill(CloseInternal, "write failed")
				return
			}
		}
	}
}

func (c *conn) pingLoop() {
	t := time.NewTicker(c.hub.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.hub.cfg.PingTimeout)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil {
			c.kill(ClosePingTimeout, "ping timeout, reconnect")
			return
		}
	}
}

// readLoop reads client frames until the connection fails or closes. The
// library closes it itself with CloseMessageTooBig for an oversize frame.
func (c *conn) readLoop() {
	for {
		typ, b, err := c.ws.Read(context.Background())
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			c.reply(c.errorAck("", domain.Errorf(domain.CodeMalformedJSON, "frames must be text frames holding JSON")))
			continue
		}
		c.reply(c.handle(b))
	}
}

func (c *conn) reply(a ackFrame) { c.enqueue(encode(a)) }

// handle runs the command of one client frame and returns its ack.
func (c *conn) handle(b []byte) ackFrame {
	f, err := decodeFrame(b)
	if err != nil {
		return c.errorAck(f.Ref, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.hub.cfg.CommandTimeout)
	defer cancel()
	cmds := c.hub.d.Commands
	var (
		msg domain.Message
		pos *domain.Position
	)
	switch f.Type {
	case TypeAck:
		var m commands.Marked
		m, err = cmds.MarkDelivered.Handle(ctx, commands.MarkDelivered{User: c.user, ID: domain.MessageID(f.ID)})
		msg, pos = m.Message, m.Position
	case TypeRead:
		var m commands.Marked
		m, err = cmds.MarkRead.Handle(ctx, commands.MarkRead{User: c.user, ID: domain.MessageID(f.ID)})
		msg, pos = m.Message, m.Position
	case TypeSend:
		var s commands.Sent
		s, err = cmds.SendMessage.Handle(ctx, commands.SendMessage{
			From: c.user, To: domain.UserID(f.To), Text: f.Text, ClientMsgID: f.ClientMsgID,
		})
		msg, pos = s.Message, &s.Position
	}
	if err != nil {
		return c.errorAck(f.Ref, err)
	}
	a := ackFrame{Type: TypeAck, Ref: f.Ref, OK: true, Message: c.hub.d.MessageJSON(msg)}
	if pos != nil {
		a.Position = pos.String()
	}
	return a
}

// errorAck turns err into an ack with ok=false. Errors that are not client
// errors are logged (without message text) and shown as "internal".
func (c *conn) errorAck(ref string, err error) ackFrame {
	de, internal := domain.ClientError(err)
	if internal {
		c.hub.log.Error("websocket command failed", "user", c.user, "err", err)
	}
	return ackFrame{Type: TypeAck, Ref: ref, OK: false, Error: &errorJSON{Code: de.Code, Message: de.Message}}
}
