package ws

import (
	"context"
)

// The send queue of a connection. Frames wait in conn.queue, oldest first.
// One writer goroutine, started when a frame is queued and ended when the
// queue is empty again, takes the whole queue at a time and writes it as
// one socket write (sock.cork and uncork; up to maxWrite bytes a write):
// frames that queue up while a write is under way go out together, and a
// connection that is sent nothing holds neither a goroutine nor a queue.
//
// Limits. Pushes (live items, the backlog, ready) count against SendQueue:
// a live push that finds SendQueue pushes waiting closes the connection
// with CloseSlowConsumer, while the backlog waits for room. Acks answer the
// client's own frames and never close it: while SendQueue acks wait, the
// reader stops reading client frames, so a client that pipelines is paced
// by how fast it reads its acks. A socket write that takes longer than
// WriteTimeout drops the connection.

// enqueueLocked queues a push without blocking. When SendQueue pushes are
// waiting, it drops the frame and kills c with CloseSlowConsumer; it
// reports whether it killed c (see killLocked).
func (c *conn) enqueueLocked(frame []byte) bool {
	if c.dead {
		return false
	}
	if c.pushes >= c.hub.cfg.SendQueue {
		c.hub.log.Info("websocket slow consumer", "user", c.user, "queue", c.hub.cfg.SendQueue)
		return c.killLocked(CloseSlowConsumer, "slow consumer, reconnect")
	}
	c.pushes++
	c.queue = append(c.queue, frame)
	c.startWriterLocked()
	return false
}

// enqueue is enqueueLocked for a caller that does not hold c.mu.
func (c *conn) enqueue(frame []byte) {
	c.mu.Lock()
	killed := c.enqueueLocked(frame)
	c.mu.Unlock()
	if killed {
		c.hub.remove(c)
	}
}

// enqueueWait queues a push, waiting while SendQueue pushes wait: the
// backlog is paced by the client instead of overflowing the queue. It
// fails when ctx ends or c is killed.
func (c *conn) enqueueWait(ctx context.Context, frame []byte) error {
	return c.queueWaiting(ctx, frame, &c.pushes)
}

// reply queues the ack of a client frame, waiting while SendQueue acks
// wait. The ack is dropped if c is killed meanwhile.
func (c *conn) reply(a ack) { _ = c.queueWaiting(context.Background(), a.frame, &c.acks) }

// queueWaiting queues frame once *count (c.pushes or c.acks) is below
// SendQueue, and counts it. Killing c wakes it (wakeLocked).
func (c *conn) queueWaiting(ctx context.Context, frame []byte, count *int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.dead && *count >= c.hub.cfg.SendQueue {
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
		}
		c.mu.Lock()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if c.dead {
		return context.Canceled
	}
	*count++
	c.queue = append(c.queue, frame)
	c.startWriterLocked()
	return nil
}

// wakeLocked releases the goroutines waiting for room in the queue.
func (c *conn) wakeLocked() {
	if c.room != nil {
		close(c.room)
		c.room = nil
	}
}

// startWriterLocked starts the writer unless it runs. The writer counts in
// hub.active: a live connection's reader (or ServeHTTP) holds a count
// whenever this is called, so Hub.Close's wait sees it.
func (c *conn) startWriterLocked() {
	if c.writing {
		return
	}
	c.writing = true
	c.hub.active.Add(1)
	go c.writeLoop()
}

// writeLoop writes the queue and the pings due until there are none, then
// ends. Once c is killed it closes the connection with c's code instead,
// writing nothing more even with frames queued, and no writer starts
// again.
func (c *conn) writeLoop() {
	defer c.hub.active.Done()
	var spare [][]byte
	for {
		c.mu.Lock()
		if c.dead {
			code, reason := c.code, c.reason
			c.mu.Unlock()
			_ = c.ws.Close(code, reason)
			return
		}
		batch, ping := c.queue, c.pingDue
		if len(batch) == 0 && !ping {
			c.queue, c.writing = nil, false
			c.mu.Unlock()
			return
		}
		c.queue, c.pushes, c.acks, c.pingDue = spare, 0, 0, false
		c.wakeLocked()
		c.mu.Unlock()
		err := c.write(ping, batch)
		clear(batch)
		spare = batch[:0]
		if err != nil {
			// Whatever the socket took of the batch, the stream is broken.
			c.kill(CloseInternal, "write failed")
			_ = c.ws.CloseNow()
		}
	}
}

// maxWrite bounds one socket write of a batch: a ping or pong waits for at
// most that much to go out first.
const maxWrite = 64 << 10

// write writes a ping if ping, then batch, one WebSocket message per
// frame, in as few socket writes as it can: one unless the batch holds
// more than maxWrite bytes.
func (c *conn) write(ping bool, batch [][]byte) error {
	c.sock.cork()
	if ping {
		_ = c.sock.writeRaw(pingFrame) // corked: it cannot fail
	}
	n := 0
	for _, f := range batch {
		if n > 0 && n+len(f) > maxWrite {
			if err := c.sock.uncork(c.hub.cfg.WriteTimeout); err != nil {
				return err
			}
			c.sock.cork()
			n = 0
		}
		// Corked, the frame is only copied: it cannot block on the client,
		// so it needs no deadline; uncork has one.
		if err := c.sock.writeText(f); err != nil {
			_ = c.sock.uncork(c.hub.cfg.WriteTimeout)
			return err
		}
		n += len(f)
	}
	return c.sock.uncork(c.hub.cfg.WriteTimeout)
}
