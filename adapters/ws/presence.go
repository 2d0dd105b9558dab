package ws

import (
	"context"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// Presence. A user is online while they have at least one WebSocket open
// on any node, and offline, last seen when the last one closed, otherwise.
// Each node marks its users' first connection and last disconnection in
// the presence store (in order, by one worker) and tells every node
// through the relay; a node pushes the change to the connections that
// watch the user. A client watches a user with {"type":"watch","user":ID}
// (allowed for itself and the users it has a conversation with, see
// commands.PresenceQuery): the ack carries the presence now, and
// {"type":"presence",...} frames follow each change until unwatch or the
// connection closes.

// MaxWatches bounds the users one connection watches. WatchBurst and
// WatchRate limit its watch and unwatch frames (at once, a second).
const (
	MaxWatches = 256
	WatchBurst = 50
	WatchRate  = 5.0
)

// presenceJSON is a user's presence as a viewer may see it: the ack of a
// watch carries it, and the presence frame is it with a type.
type presenceJSON struct {
	Type     string        `json:"type,omitempty"`
	User     domain.UserID `json:"user"`
	Online   bool          `json:"online"`
	LastSeen *string       `json:"last_seen"` // null: online, never seen, or hidden
}

// PresenceJSON renders a presence state as REST and the WebSocket show it
// (typ "" for the REST body and the ack, TypePresence for a push).
func PresenceJSON(typ string, st commands.PresenceState) any {
	p := presenceJSON{Type: typ, User: st.User, Online: st.Online}
	if !st.Online && !st.LastSeen.IsZero() {
		s := ts(st.LastSeen)
		p.LastSeen = &s
	}
	return p
}

// connected counts a served connection; the user's first on this node
// marks them online.
func (e *ephemeral) connected(c *conn) {
	if e.q == nil {
		return
	}
	e.mu.Lock()
	e.local[c.user]++
	if e.local[c.user] == 1 {
		e.marks = append(e.marks, mark{user: c.user, online: true, at: e.now()})
		e.poke()
	}
	e.mu.Unlock()
}

// disconnected uncounts a connection that has ended: its watches end, the
// typing it had started stops, and the user's last connection on this
// node marks them offline here.
func (e *ephemeral) disconnected(c *conn) {
	if e.q == nil {
		return
	}
	e.stopTyping(c)
	e.mu.Lock()
	if st := c.eph.Load(); st != nil {
		st.mu.Lock()
		for u := range st.watching {
			e.unwatchLocked(c, u)
		}
		st.watching = nil
		st.mu.Unlock()
	}
	e.local[c.user]--
	if e.local[c.user] <= 0 {
		delete(e.local, c.user)
		e.marks = append(e.marks, mark{user: c.user, online: false, at: e.now()})
		e.poke()
	}
	e.mu.Unlock()
}

func (e *ephemeral) unwatchLocked(c *conn, u domain.UserID) {
	if set := e.watchers[u]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(e.watchers, u)
		}
	}
}

// worker stores the presence marks in order and tells every node of the
// changes, until close queues the zero mark.
func (e *ephemeral) worker() {
	defer close(e.worked)
	for {
		e.mu.Lock()
		batch := e.marks
		e.marks = nil
		e.mu.Unlock()
		for _, m := range coalesce(batch) {
			if m.user == "" {
				return
			}
			e.store(m)
			e.stored.Add(1)
		}
		if len(batch) == 0 {
			<-e.wake
		}
	}
}

// coalesce keeps the last mark of each user in a batch, in the order of
// their last marks: a reconnect storm (a node's clients moving here)
// costs the store one write per user, not one per connection change. The
// zero mark (close's cue) stays last.
func coalesce(batch []mark) []mark {
	if len(batch) < 2 {
		return batch
	}
	last := make(map[domain.UserID]int, len(batch))
	for i, m := range batch {
		last[m.user] = i
	}
	out := batch[:0]
	for i, m := range batch {
		if last[m.user] == i {
			out = append(out, m)
		}
	}
	return out
}

// store records one mark and, when it changes what others see, publishes
// it: online at once; offline only when no other node holds a connection.
func (e *ephemeral) store(m mark) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), 10*time.Second)
	defer cancel()
	st := e.q.Store
	if m.online {
		// Online elsewhere already: watchers were told (two nodes that
		// both see the user offline both tell; a repeat is harmless).
		was, _, err := st.Presence(ctx, m.user, e.now())
		if err != nil {
			e.h.log.Warn("read presence", "user", m.user, "err", err)
		}
		if err := st.Online(ctx, e.node, m.user, m.at); err != nil {
			e.h.log.Warn("store presence", "user", m.user, "err", err)
		}
		if !was {
			e.publish(ctx, signal{Kind: sigPresence, From: m.user, Online: true, At: m.at.UnixMilli()})
		}
		return
	}
	if err := st.Offline(ctx, e.node, m.user, m.at); err != nil {
		e.h.log.Warn("store presence", "user", m.user, "err", err)
	}
	online, _, err := st.Presence(ctx, m.user, e.now())
	if err != nil {
		e.h.log.Warn("read presence", "user", m.user, "err", err)
		return
	}
	if online {
		return // still connected through another node
	}
	s, err := e.q.Settings.Settings(ctx, m.user)
	if err != nil {
		e.h.log.Warn("read settings", "user", m.user, "err", err)
		s.HideLastSeen = true // when in doubt, hide
	}
	e.publish(ctx, signal{Kind: sigPresence, From: m.user, At: m.at.UnixMilli(), Hide: s.HideLastSeen})
}

// SettingsChanged tells every node that user's settings are now s, so
// their connections show last seen by the new rule at once.
func (h *Hub) SettingsChanged(ctx context.Context, user domain.UserID, s commands.Settings) {
	if h.eph.q == nil {
		return
	}
	h.eph.publish(ctx, signal{Kind: sigSettings, From: user, Hide: s.HideLastSeen})
}

// watch starts pushing user's presence to c and returns it now.
func (c *conn) watch(ctx context.Context, user domain.UserID) (any, error) {
	e := c.hub.eph
	st := c.state()
	st.mu.Lock()
	ok, wait := st.watches.take(time.Now())
	full := len(st.watching) >= MaxWatches
	st.mu.Unlock()
	if !ok {
		return nil, &domain.Error{Code: domain.CodeRateLimited, Message: "too many watch frames", RetryAfter: wait}
	}
	if full {
		return nil, domain.Errorf(domain.CodeInvalidField, "a connection watches at most %d users: unwatch some first", MaxWatches)
	}
	ps, err := e.q.Of(ctx, c.user, user)
	if err != nil {
		return nil, err
	}
	own, err := e.q.Settings.Settings(ctx, c.user)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	st.mu.Lock()
	if c.killed() {
		st.mu.Unlock()
		e.mu.Unlock()
		return nil, context.Canceled
	}
	st.hideOwn = own.HideLastSeen
	if st.watching == nil {
		st.watching = map[domain.UserID]int64{}
	}
	if _, ok := st.watching[user]; !ok {
		st.watching[user] = 0
	}
	set := e.watchers[user]
	if set == nil {
		set = map[*conn]struct{}{}
		e.watchers[user] = set
	}
	set[c] = struct{}{}
	st.mu.Unlock()
	e.mu.Unlock()
	return PresenceJSON("", ps), nil
}

// unwatch stops pushing user's presence to c (not watching is no error).
func (c *conn) unwatch(user domain.UserID) error {
	e := c.hub.eph
	st := c.state()
	st.mu.Lock()
	ok, wait := st.watches.take(time.Now())
	st.mu.Unlock()
	if !ok {
		return &domain.Error{Code: domain.CodeRateLimited, Message: "too many watch frames", RetryAfter: wait}
	}
	e.mu.Lock()
	st.mu.Lock()
	delete(st.watching, user)
	e.unwatchLocked(c, user)
	st.mu.Unlock()
	e.mu.Unlock()
	return nil
}

// deliverPresence pushes a presence change to the connections here that
// watch its user, each at most once per change and never an older one
// after a newer (changes from different nodes may cross on the relay).
func (e *ephemeral) deliverPresence(sig signal) {
	e.mu.Lock()
	targets := make([]*conn, 0, len(e.watchers[sig.From]))
	for c := range e.watchers[sig.From] {
		targets = append(targets, c)
	}
	e.mu.Unlock()
	at := time.UnixMilli(sig.At).UTC()
	for _, c := range targets {
		st := c.eph.Load()
		if st == nil {
			continue
		}
		st.mu.Lock()
		last, watching := st.watching[sig.From]
		if !watching || sig.At < last {
			st.mu.Unlock()
			continue
		}
		st.watching[sig.From] = sig.At
		ps := commands.PresenceState{User: sig.From, Online: sig.Online}
		if !sig.Online && !sig.Hide && !st.hideOwn {
			ps.LastSeen = at
		}
		st.mu.Unlock()
		c.offer(encode(PresenceJSON(TypePresence, ps)))
	}
}
