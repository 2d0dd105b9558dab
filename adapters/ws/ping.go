package ws

import "time"

// Pings. Each connection has one timer and no goroutine for them: every
// PingInterval the timer has the writer write a ping (pingFrame, between
// two frames of the queue) and then waits PingTimeout for the pong; if it
// has not come by then the connection is closed with ClosePingTimeout.
// The pong is usually taken by the reader between frames (sock.skipPongs),
// or by the library when it is in the middle of a message
// (AcceptOptions.OnPongReceived). Any pong counts, whatever its payload.

// pingFrame is a server ping with an empty payload: FIN and opcode 0x9,
// unmasked, length 0.
var pingFrame = []byte{0x89, 0x00}

// startPings arms c's ping timer.
func (c *conn) startPings() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dead {
		c.ticker = time.AfterFunc(c.tick(c.hub.cfg.PingInterval), c.pingTimer)
	}
}

// pingTimer runs when c's timer fires: it closes c if its session has
// expired or the last ping has had no pong, and otherwise sends the next
// ping.
func (c *conn) pingTimer() {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	if c.session != nil && !time.Now().Before(c.session.expires) {
		killed := c.killLocked(CloseSessionEnded, "token expired")
		c.mu.Unlock()
		if killed {
			c.hub.remove(c)
		}
		return
	}
	if c.awaiting {
		killed := c.killLocked(ClosePingTimeout, "ping timeout, reconnect")
		c.mu.Unlock()
		if killed {
			c.hub.remove(c)
		}
		return
	}
	c.awaiting, c.pingDue = true, true
	c.startWriterLocked()
	c.ticker.Reset(c.tick(c.hub.cfg.PingTimeout))
	c.mu.Unlock()
}

// ponged records a pong: the next ping is due a PingInterval from now.
func (c *conn) ponged() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.awaiting && !c.dead {
		c.awaiting = false
		c.ticker.Reset(c.tick(c.hub.cfg.PingInterval))
	}
}

// tick is d, or less when c's session expires sooner: the timer then
// fires at the expiry and closes c.
func (c *conn) tick(d time.Duration) time.Duration {
	if c.session != nil {
		d = min(d, max(time.Until(c.session.expires), 0))
	}
	return d
}
