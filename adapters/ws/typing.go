package ws

import (
	"context"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// Typing indicators. A client sends {"type":"typing","to":PEER,
// "state":"start"} while its user types to PEER (again every few seconds
// while the typing goes on) and "stop" when they stop or send; every
// connection of PEER, on any node, gets {"type":"typing","from":USER,
// "state":...,"ttl_ms":6000}. The peer shows the indicator for TypingTTL
// unless another start refreshes it, and hides it on stop, on a message
// from USER, or when USER goes offline. A connection that closes while
// typing sends stop for it.
const (
	TypingStart = "start"
	TypingStop  = "stop"
	// TypingTTL is how long a receiver shows a start that is not
	// refreshed. Clients send start again at most every TypingRefresh
	// while typing goes on.
	TypingTTL     = 6 * time.Second
	TypingRefresh = 3 * time.Second
	// TypingBurst and TypingRate limit a connection's typing frames: that
	// many at once, that many a second sustained. Frames beyond are
	// answered rate_limited (with retry_after) and go nowhere.
	TypingBurst = 5
	TypingRate  = 1.0
)

// typingFrame is the server's typing frame to the peer.
type typingFrame struct {
	Type  string        `json:"type"`
	From  domain.UserID `json:"from"`
	State string        `json:"state"`
	TTLms int64         `json:"ttl_ms"`
}

// typing tells to that c's user is typing (start) or stopped. It answers
// the same whether to is online or not.
func (c *conn) typing(ctx context.Context, to domain.UserID, state string) error {
	st := c.state()
	st.mu.Lock()
	ok, wait := st.typing.take(time.Now())
	st.mu.Unlock()
	if !ok {
		return &domain.Error{Code: domain.CodeRateLimited, Message: "too many typing frames: at most 5 at once and 1 a second", RetryAfter: wait}
	}
	st.mu.Lock()
	known := st.typingOK == to
	st.mu.Unlock()
	if !known { // a typist sends to one peer again and again: look it up once
		if err := c.hub.eph.q.TypingTo(ctx, c.user, to); err != nil {
			return err
		}
	}
	st.mu.Lock()
	st.typingOK = to
	if state == TypingStart {
		if st.typingTo == nil {
			st.typingTo = map[domain.UserID]struct{}{}
		}
		if len(st.typingTo) < maxTypingTo {
			st.typingTo[to] = struct{}{}
		}
	} else {
		delete(st.typingTo, to)
	}
	st.mu.Unlock()
	c.hub.eph.publish(ctx, signal{Kind: sigTyping, From: c.user, To: to, State: state})
	return nil
}

// maxTypingTo bounds the peers a connection remembers typing to (for the
// stop sent when it closes).
const maxTypingTo = 16

// stopTyping sends stop to every peer c was typing to (c is closing).
func (e *ephemeral) stopTyping(c *conn) {
	st := c.eph.Load()
	if st == nil {
		return
	}
	st.mu.Lock()
	peers := st.typingTo
	st.typingTo = nil
	st.mu.Unlock()
	for to := range peers {
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		e.publish(ctx, signal{Kind: sigTyping, From: c.user, To: to, State: TypingStop})
		cancel()
	}
}

// deliverTyping queues a typing frame to every connection of sig.To here.
func (e *ephemeral) deliverTyping(sig signal) {
	e.h.mu.RLock()
	targets := make([]*conn, 0, len(e.h.conns[sig.To]))
	for c := range e.h.conns[sig.To] {
		targets = append(targets, c)
	}
	e.h.mu.RUnlock()
	if len(targets) == 0 {
		return
	}
	frame := encode(typingFrame{Type: TypeTyping, From: sig.From, State: sig.State, TTLms: TypingTTL.Milliseconds()})
	for _, c := range targets {
		c.offer(frame)
	}
}
