package ws

import (
	"context"
	"hash/maphash"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// conn is one device's connection. An idle connection has one goroutine,
// the reader, parked until the client sends something (sock.fillLocked,
// holding no buffer); it runs the commands of client frames. A writer
// goroutine runs only while frames are queued (writer.go); pings are a
// timer (ping.go). kill closes the connection without blocking, so the
// hub can call it while pushing.
type conn struct {
	hub     *Hub
	user    domain.UserID
	session *connSession // nil: authenticated without a known session; set by Hub.add
	ws      *websocket.Conn
	sock    *sock

	// mu guards the fields below.
	mu         sync.Mutex
	dead       bool // killed: nothing more is queued or written
	code       websocket.StatusCode
	reason     string
	stopResume context.CancelFunc // ends the backlog's reads while resuming

	// Pings (ping.go).
	ticker   *time.Timer // the next ping, or the end of the wait for its pong
	pingDue  bool        // the writer is to write a ping
	awaiting bool        // a ping is out and its pong has not come

	// The send queue (writer.go).
	queue   [][]byte      // frames to write, oldest first
	pushes  int           // frames in queue that are not acks
	acks    int           // ack frames in queue
	writing bool          // a writer goroutine runs (or has closed c)
	room    chan struct{} // closed when the writer takes the queue; made by a waiter

	// Feed items. Until the backlog is sent (resuming), live items wait in
	// pending; last is the cursor offset of the last item queued, and items
	// at or before it are dropped.
	resuming bool
	pending  []pendingItem
	last     int64
	seen     recent // items already queued, by itemKey

	// eph is the connection's typing and presence state (ephemeral.go),
	// made by its first typing or watch frame.
	eph atomic.Pointer[ephConn]
}

// connSession is the token a connection was opened with and when it
// expires: the ping timer closes the connection with CloseSessionEnded
// once it has (so within a PingInterval of the expiry).
type connSession struct {
	token   commands.TokenHash
	expires time.Time
}

type pendingItem struct {
	key    uint64
	offset int64
	frame  []byte
}

var keySeed = maphash.MakeSeed()

// itemKey names what an item tells, so the same news at another cursor (a
// retried send appended twice, a receipt derived twice) is written once.
// It is a 64-bit hash: two different items share one with a chance of
// about 2^-64 per pair.
func itemKey(it projections.FeedItem) uint64 {
	var h maphash.Hash
	h.SetSeed(keySeed)
	_ = h.WriteByte(byte(it.Kind))
	_ = h.WriteByte(byte(it.Status))
	_, _ = h.WriteString(string(it.Message.ID))
	if it.Kind == projections.FeedEdited { // each version is news
		_, _ = h.WriteString(strconv.Itoa(it.Message.Version))
	}
	if it.Kind == projections.FeedReactedBySender || it.Kind == projections.FeedReactedByRecipient { // each change is news
		r := it.Message.Reactions[0]
		if it.Kind == projections.FeedReactedByRecipient {
			r = it.Message.Reactions[1]
		}
		_, _ = h.WriteString(r.Emoji + "/" + strconv.Itoa(r.Version))
	}
	return h.Sum64()
}

// recent remembers the last recentSize keys. It holds nothing until the
// first key and grows with the keys it holds.
type recent struct {
	set  map[uint64]struct{}
	ring []uint64
	next int
}

const recentSize = 4096

// add records key and reports whether it was new.
func (r *recent) add(key uint64) bool {
	if _, ok := r.set[key]; ok {
		return false
	}
	if r.set == nil {
		r.set = map[uint64]struct{}{}
	}
	if len(r.ring) < recentSize {
		r.ring = append(r.ring, key)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = key
		r.next = (r.next + 1) % recentSize
	}
	r.set[key] = struct{}{}
	return true
}

// accept upgrades the request to a WebSocket with a socket of its own
// (socket.go) and returns the connection, not yet registered nor served.
func accept(h *Hub, w http.ResponseWriter, r *http.Request, user domain.UserID) (*conn, error) {
	hj := &hijacker{ResponseWriter: w}
	c := &conn{hub: h, user: user, resuming: true, last: -1}
	wc, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		Subprotocols:   []string{Subprotocol},
		OriginPatterns: h.cfg.OriginPatterns,
		// Pongs the library reads itself (sock.skipPongs takes most).
		OnPongReceived: func(context.Context, []byte) { c.ponged() },
	})
	if err != nil {
		return nil, err
	}
	wc.SetReadLimit(h.cfg.ReadLimit)
	c.ws, c.sock = wc, hj.sock
	return c, nil
}

// push queues a live feed item unless it is not newer than the last one,
// or tells what an item already queued told. While the backlog is being
// sent, live items wait (at most SendQueue of them; more closes the
// connection as a slow consumer).
func (c *conn) push(key uint64, cursor domain.Position, frame []byte) {
	c.mu.Lock()
	killed := false
	switch {
	case cursor.Offset <= c.last:
	case c.resuming:
		if len(c.pending) >= c.hub.cfg.SendQueue {
			killed = c.killLocked(CloseSlowConsumer, "slow consumer, reconnect")
			break
		}
		c.pending = append(c.pending, pendingItem{key, cursor.Offset, frame})
	default:
		c.last = cursor.Offset
		if c.seen.add(key) {
			killed = c.enqueueLocked(frame)
		}
	}
	c.mu.Unlock()
	if killed {
		c.hub.remove(c)
	}
}

// kill removes c from the hub at once (no more pushes) and has the writer
// close the connection with code. Only the first call counts. It never
// blocks.
func (c *conn) kill(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	killed := c.killLocked(code, reason)
	c.mu.Unlock()
	if killed {
		c.hub.remove(c)
	}
}

// killLocked marks c dead, drops what is queued and starts the writer that
// closes the connection. It reports whether this call killed c; the caller
// then removes c from the hub, after unlocking c.mu.
func (c *conn) killLocked(code websocket.StatusCode, reason string) bool {
	if c.dead {
		return false
	}
	c.dead, c.code, c.reason = true, code, reason
	c.queue, c.pushes, c.acks, c.pending = nil, 0, 0, nil
	c.wakeLocked()
	if c.ticker != nil {
		c.ticker.Stop()
	}
	if c.stopResume != nil {
		c.stopResume()
	}
	c.startWriterLocked()
	return true
}

// serve starts c's reader and pinger, then sends the backlog after since
// (or the unread messages when since is empty) and returns; the reader
// goes on until the connection ends. The caller must hold a count of
// hub.active, which serve adds to for the reader.
func (c *conn) serve(since string) {
	c.hub.active.Add(1)
	c.hub.eph.connected(c)
	go c.readLoop()
	c.startPings()
	c.resume(since)
}

// readLoop reads client frames until the connection fails or closes, or c
// is killed. Between frames it waits with a shallow stack and no buffer,
// and takes pongs itself. The library closes the connection itself with
// CloseMessageTooBig for an oversize frame.
func (c *conn) readLoop() {
	defer c.hub.active.Done()
	defer c.hub.eph.disconnected(c) // after the kill: no frame reaches c any more
	defer c.kill(websocket.StatusNormalClosure, "")
	for !c.killed() {
		pongs, more := c.sock.skipPongs() // waits for the client, holding no buffer
		if pongs > 0 {
			c.ponged()
		}
		if !more {
			continue
		}
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

func (c *conn) killed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

// handle runs the command of one client frame and returns its ack.
func (c *conn) handle(b []byte) ack {
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
	case TypeReadUpTo:
		var r commands.ReadUpToResult
		r, err = cmds.ReadUpTo.Handle(ctx, commands.ReadUpTo{User: c.user, UpTo: domain.MessageID(f.ID)})
		msg, pos = r.Message, &r.Position
	case TypeSend:
		var s commands.Sent
		s, err = cmds.SendMessage.Handle(ctx, commands.SendMessage{
			From: c.user, To: domain.UserID(f.To), Text: f.Text, ClientMsgID: f.ClientMsgID, ReplyTo: domain.MessageID(f.ReplyTo),
		})
		msg, pos = s.Message, &s.Position
		if err == nil {
			c.sentHere(msg.ID)
		}
	case TypeTyping, TypeWatch, TypeUnwatch: // ephemeral.go; after the commands, off their path
		return c.handleEphemeral(ctx, f)
	}
	if err != nil {
		return c.errorAck(f.Ref, err)
	}
	return ack{frame: c.hub.appendAckFrame(make([]byte, 0, 200+len(msg.Text)), f.Ref, msg, pos)}
}

// errorAck turns err into an ack with ok=false. Errors that are not client
// errors are logged (without message text) and shown as "internal".
func (c *conn) errorAck(ref string, err error) ack {
	de, internal := domain.ClientError(err)
	if internal {
		c.hub.log.Error("websocket command failed", "user", c.user, "err", err)
	}
	e := &errorJSON{Code: de.Code, Message: de.Message}
	if de.RetryAfter > 0 {
		e.RetryAfter = int(math.Ceil(de.RetryAfter.Seconds()))
	}
	return ack{frame: encode(ackFrame{Type: TypeAck, Ref: ref, OK: false, Error: e})}
}
