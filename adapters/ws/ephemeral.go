package ws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// Ephemeral frames: typing indicators and presence. They are not events:
// nothing of them is in the log, and only last-seen times are stored
// (commands.PresenceStore). A node tells the others through the Relay in
// signals; every node delivers a signal to its own connections concerned.
// Plain sends pay nothing for this: a connection's ephemeral state is made
// by its first typing or watch frame, and the hub's work here is done on
// connect, on disconnect and on the ephemeral frames themselves.

// Signal kinds on the relay.
const (
	sigTyping   = "t" // From types to To: State start or stop
	sigPresence = "p" // From went Online or not at At; Hide: From hides last seen
	sigSettings = "s" // From's HideLastSeen is now Hide
)

// signal is what crosses the relay, JSON encoded (a few hundred bytes).
type signal struct {
	Kind   string        `json:"k"`
	From   domain.UserID `json:"f"`
	To     domain.UserID `json:"t,omitempty"`
	State  string        `json:"s,omitempty"`
	Online bool          `json:"on,omitempty"`
	At     int64         `json:"at,omitempty"` // Unix milliseconds
	Hide   bool          `json:"h,omitempty"`
}

// ephemeral is the hub's share of typing and presence.
type ephemeral struct {
	h     *Hub
	q     *commands.PresenceQuery // nil: disabled
	relay Relay
	node  string
	stop  func() // ends the relay subscription

	ctx    context.Context // ends at close
	cancel context.CancelFunc
	worked chan struct{} // closed when the presence worker ends
	beaten chan struct{} // closed when the beat loop ends
	once   sync.Once

	mu       sync.Mutex
	local    map[domain.UserID]int                // served connections of each user on this node
	watchers map[domain.UserID]map[*conn]struct{} // connections watching each user
	marks    []mark                               // presence changes to store and tell, oldest first
	wake     chan struct{}                        // has the worker look at marks
	stored   atomic.Int64                         // marks the worker has stored and told
}

// mark is a change of a user's presence on this node.
type mark struct {
	user   domain.UserID
	online bool
	at     time.Time
}

func newEphemeral(h *Hub) (*ephemeral, error) {
	e := &ephemeral{h: h, q: h.d.Presence, relay: h.d.Relay, node: h.d.Node,
		local: map[domain.UserID]int{}, watchers: map[domain.UserID]map[*conn]struct{}{}, wake: make(chan struct{}, 1)}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if e.q == nil {
		e.stop = func() {}
		return e, nil
	}
	if err := e.q.Validate(); err != nil {
		return nil, err
	}
	if e.relay == nil {
		e.relay = NewLocalRelay()
	}
	if e.node == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		e.node = hex.EncodeToString(b[:])
	}
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	if err := e.q.Store.Beat(ctx, e.node, e.now()); err != nil {
		return nil, err
	}
	stop, err := e.relay.Subscribe(ctx, e.deliver)
	if err != nil {
		return nil, err
	}
	e.stop = stop
	e.worked, e.beaten = make(chan struct{}), make(chan struct{})
	go e.worker()
	go e.beat()
	return e, nil
}

func (e *ephemeral) now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// close stores the offline marks still queued (for up to 5 s), then stops
// beating and listening. Only the first call does anything.
func (e *ephemeral) close() {
	e.once.Do(func() {
		if e.q == nil {
			return
		}
		e.mu.Lock()
		e.marks = append(e.marks, mark{}) // the worker's cue to end once the rest is done
		e.mu.Unlock()
		e.poke()
		select {
		case <-e.worked:
		case <-time.After(5 * time.Second):
			e.h.log.Warn("presence marks still being stored at shutdown")
		}
		e.cancel()
		<-e.beaten
		e.stop()
	})
}

func (e *ephemeral) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// beat tells the store this node is alive every commands.PresenceBeat.
func (e *ephemeral) beat() {
	defer close(e.beaten)
	t := time.NewTicker(commands.PresenceBeat)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(e.ctx, commands.PresenceBeat)
		if err := e.q.Store.Beat(ctx, e.node, e.now()); err != nil && e.ctx.Err() == nil {
			e.h.log.Warn("presence beat", "node", e.node, "err", err)
		}
		e.sweep(ctx, e.now())
		cancel()
	}
}

// sweep tells the watchers of the users of nodes that died (stopped
// beating without closing their sockets) that they are offline. Every node
// sweeps; the store gives each death to one of them.
func (e *ephemeral) sweep(ctx context.Context, now time.Time) {
	gone, err := e.q.Store.Sweep(ctx, now)
	if err != nil {
		if e.ctx.Err() == nil {
			e.h.log.Warn("presence sweep", "node", e.node, "err", err)
		}
		return
	}
	if len(gone) > 0 {
		e.h.log.Info("users of dead nodes are offline", "users", len(gone))
	}
	for _, g := range gone {
		s, err := e.q.Settings.Settings(ctx, g.User)
		if err != nil {
			s.HideLastSeen = true // when in doubt, hide
		}
		e.publish(ctx, signal{Kind: sigPresence, From: g.User, At: g.LastSeen.UnixMilli(), Hide: s.HideLastSeen})
	}
}

// publish sends sig to every node (this one included). Failures are
// logged: ephemeral signals are best effort.
func (e *ephemeral) publish(ctx context.Context, sig signal) {
	b, err := json.Marshal(sig)
	if err == nil {
		err = e.relay.Publish(ctx, b)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		e.h.log.Warn("publish ephemeral signal", "kind", sig.Kind, "user", sig.From, "err", err)
	}
}

// deliver handles a signal from the relay: it queues the frames it means
// for this node's connections. It never blocks on a connection.
func (e *ephemeral) deliver(payload []byte) {
	var sig signal
	if err := json.Unmarshal(payload, &sig); err != nil {
		e.h.log.Warn("undecodable ephemeral signal", "bytes", len(payload))
		return
	}
	switch sig.Kind {
	case sigTyping:
		e.deliverTyping(sig)
	case sigPresence:
		e.deliverPresence(sig)
	case sigSettings:
		e.h.mu.RLock()
		for c := range e.h.conns[sig.From] {
			if st := c.eph.Load(); st != nil {
				st.mu.Lock()
				st.hideOwn = sig.Hide
				st.mu.Unlock()
			}
		}
		e.h.mu.RUnlock()
	}
}

// offer queues an ephemeral frame unless the connection's queue is half
// full or it is dead: an ephemeral frame is dropped rather than let close
// a slow connection.
func (c *conn) offer(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.pushes >= max(1, c.hub.cfg.SendQueue/2) {
		return
	}
	c.pushes++
	c.queue = append(c.queue, frame)
	c.startWriterLocked()
}

// ephConn is one connection's typing and presence state.
type ephConn struct {
	mu       sync.Mutex
	typing   bucket                     // typing frames (TypingBurst, TypingRate)
	watches  bucket                     // watch and unwatch frames (WatchBurst, WatchRate)
	typingTo map[domain.UserID]struct{} // peers told "start" and not "stop"
	typingOK domain.UserID              // the last peer TypingTo allowed
	watching map[domain.UserID]int64    // watched users: the At of the last presence sent
	hideOwn  bool                       // the user hides their last seen (so sees nobody's)
}

// state returns c's ephemeral state, making it on first use.
func (c *conn) state() *ephConn {
	if st := c.eph.Load(); st != nil {
		return st
	}
	now := time.Now()
	st := &ephConn{typing: newBucket(TypingBurst, TypingRate, now), watches: newBucket(WatchBurst, WatchRate, now)}
	if c.eph.CompareAndSwap(nil, st) {
		return st
	}
	return c.eph.Load()
}

// bucket is a token bucket: burst at once, rate a second sustained.
type bucket struct {
	tokens float64
	at     time.Time
	burst  float64
	rate   float64
}

func newBucket(burst int, rate float64, now time.Time) bucket {
	return bucket{tokens: float64(burst), at: now, burst: float64(burst), rate: rate}
}

// take takes a token, or reports how long until one is there.
func (b *bucket) take(now time.Time) (ok bool, wait time.Duration) {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// checkEphemeralFrame validates the fields of a typing, watch or unwatch
// frame (decodeFrame).
func checkEphemeralFrame(f clientFrame) error {
	switch f.Type {
	case TypeTyping:
		if f.To == "" {
			return domain.Errorf(domain.CodeMissingField, "to is required")
		}
		switch f.State {
		case TypingStart, TypingStop:
		case "":
			return domain.Errorf(domain.CodeMissingField, "state is required")
		default:
			return domain.Errorf(domain.CodeInvalidField, "state must be %q or %q", TypingStart, TypingStop)
		}
	default:
		if f.User == "" {
			return domain.Errorf(domain.CodeMissingField, "user is required")
		}
	}
	return nil
}

// handleEphemeral answers a typing, watch or unwatch frame.
func (c *conn) handleEphemeral(ctx context.Context, f clientFrame) ack {
	if c.hub.eph.q == nil {
		return c.errorAck(f.Ref, domain.Errorf(domain.CodeUnavailable, "typing and presence are not served here"))
	}
	var err error
	var presence any
	switch f.Type {
	case TypeTyping:
		err = c.typing(ctx, domain.UserID(f.To), f.State)
	case TypeWatch:
		presence, err = c.watch(ctx, domain.UserID(f.User))
	case TypeUnwatch:
		err = c.unwatch(domain.UserID(f.User))
	}
	if err != nil {
		return c.errorAck(f.Ref, err)
	}
	return ack{frame: encode(ackFrame{Type: TypeAck, Ref: f.Ref, OK: true, Presence: presence})}
}
