package ws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// Subprotocol is the WebSocket subprotocol of this protocol version. The
// server selects it when the client offers it.
const Subprotocol = "tidings.v1"

// Config tunes the WebSocket endpoint.
type Config struct {
	// OriginPatterns are the host patterns (path.Match, e.g.
	// "app.example.com", "*.example.com") of the pages allowed to connect
	// from another origin. Empty: same origin only.
	OriginPatterns []string
	// MaxConnsPerUser bounds the connections of one user on this node; the
	// next one is closed with CloseTooManyConnections.
	MaxConnsPerUser int
	// SendQueue is how many pushed frames may wait to be written to one
	// connection; a push that finds it full closes the connection with
	// CloseSlowConsumer. Acks of client frames wait beside them, up to as
	// many again: while that many do, the server stops reading the
	// client's frames (a pipelining client is paced, not closed).
	SendQueue int
	// ReadLimit is the largest client frame in bytes; a larger one closes
	// the connection with CloseMessageTooBig.
	ReadLimit int64
	// PingInterval is how often the server pings; PingTimeout how long it
	// waits for the pong before closing with ClosePingTimeout.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// WriteTimeout bounds one socket write (the frames queued for the
	// connection, written together, up to 64 KiB); a connection that
	// cannot take it in that time is dropped.
	WriteTimeout time.Duration
	// CommandTimeout bounds one command run for a client frame.
	CommandTimeout time.Duration
}

// SetDefaults fills zero fields.
func (c *Config) SetDefaults() {
	if c.MaxConnsPerUser == 0 {
		c.MaxConnsPerUser = 8
	}
	if c.SendQueue == 0 {
		c.SendQueue = 256
	}
	if c.ReadLimit == 0 {
		c.ReadLimit = 64 << 10
	}
	if c.PingInterval == 0 {
		c.PingInterval = 20 * time.Second
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = 10 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = 10 * time.Second
	}
}

// Validate reports every invalid field.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxConnsPerUser < 1 {
		errs = append(errs, fmt.Errorf("ws: MaxConnsPerUser %d must be at least 1", c.MaxConnsPerUser))
	}
	if c.SendQueue < 1 {
		errs = append(errs, fmt.Errorf("ws: SendQueue %d must be at least 1", c.SendQueue))
	}
	if c.ReadLimit < 1 {
		errs = append(errs, fmt.Errorf("ws: ReadLimit %d must be positive", c.ReadLimit))
	}
	if c.PingInterval <= 0 || c.PingTimeout <= 0 || c.WriteTimeout <= 0 || c.CommandTimeout <= 0 {
		errs = append(errs, errors.New("ws: PingInterval, PingTimeout, WriteTimeout and CommandTimeout must be positive"))
	}
	for _, p := range c.OriginPatterns {
		if p == "" || p == "*" {
			errs = append(errs, fmt.Errorf("ws: origin pattern %q would allow any page to connect", p))
		}
	}
	return errors.Join(errs...)
}

// Deps are what the hub serves with. UserFrom and MessageJSON come from the
// REST adapter, so both speak of users and messages the same way.
type Deps struct {
	Commands commands.Commands
	// UserFrom returns the user the authentication middleware found.
	UserFrom func(ctx context.Context) (domain.User, bool)
	// SessionFrom, when set, returns the session the request was
	// authenticated with: the connection is closed with
	// CloseSessionEnded when it expires, or when Revoke names its token.
	SessionFrom func(ctx context.Context) (commands.Session, bool)
	// MessageJSON appends a message as the REST API renders it.
	MessageJSON func(b []byte, m domain.Message) []byte
	// Views serves the backlog of a resuming connection (Feed) and the
	// unread messages of a fresh one.
	Views projections.Reader
	// Positions tells how far the views have applied each partition.
	Positions projections.PositionSource
	// Partitions is the event topic's partition count (domain.PartitionOf).
	Partitions int32
	Logger     *slog.Logger
	// Presence, when set, enables the ephemeral frames (typing, watch;
	// ephemeral.go): it says who may see whose presence and keeps this
	// node's connection marks. Nil: those frames are answered
	// "unavailable".
	Presence *commands.PresenceQuery
	// Relay carries the ephemeral signals to every node (nil: a
	// LocalRelay, which reaches this process only).
	Relay Relay
	// Node names this process in the presence store (empty: a random
	// name). Names must differ between processes sharing a store.
	Node string
}

// Hub holds this node's connections by user and pushes each applied event
// to the connections concerned. It is safe for concurrent use.
type Hub struct {
	cfg Config
	d   Deps
	log *slog.Logger

	mu     sync.RWMutex
	conns  map[domain.UserID]map[*conn]struct{}
	open   int // connections in conns; guarded by mu
	closed bool
	// The connections of each token (most tokens have one). A
	// connection knows its own token and expiry (conn.session), checked
	// at each ping: no timer or map entry per connection beyond these.
	byToken map[commands.TokenHash][]*conn
	// revoked remembers tokens signed out on this node for revokedMemory,
	// so a connection that passed authentication just before cannot
	// register after the sign-out closed the others.
	revoked map[commands.TokenHash]time.Time
	active  sync.WaitGroup // ServeHTTP calls and connection readers and writers running
	eph     *ephemeral     // typing and presence (ephemeral.go)
}

// NewHub returns a hub with no connections.
func NewHub(cfg Config, d Deps) (*Hub, error) {
	cfg.SetDefaults()
	errs := []error{cfg.Validate()}
	if d.UserFrom == nil {
		errs = append(errs, errors.New("ws: UserFrom is nil"))
	}
	if d.MessageJSON == nil {
		errs = append(errs, errors.New("ws: MessageJSON is nil"))
	}
	if d.Views == nil || d.Positions == nil {
		errs = append(errs, errors.New("ws: Views and Positions are required"))
	}
	if d.Partitions < 1 {
		errs = append(errs, fmt.Errorf("ws: Partitions %d must be at least 1", d.Partitions))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	vr, _ := d.Views.(projections.VersionReader)
	d.Views = projections.Marked(d.Views, d.Commands.Marks) // a status never goes back (commands.Marks)
	d.Views = projections.Quoted(d.Views, vr)               // replies show their quote (issue 12)
	h := &Hub{cfg: cfg, d: d, log: d.Logger, conns: map[domain.UserID]map[*conn]struct{}{},
		byToken: map[commands.TokenHash][]*conn{}, revoked: map[commands.TokenHash]time.Time{}}
	eph, err := newEphemeral(h)
	if err != nil {
		return nil, err
	}
	h.eph = eph
	return h, nil
}

// Mount adds GET /ws to r, which must authenticate requests first.
func (h *Hub) Mount(r chi.Router) { r.Method(http.MethodGet, "/ws", h) }

// itemFrame renders a feed item as its server frame.
func (h *Hub) itemFrame(it projections.FeedItem) []byte {
	b := make([]byte, 0, 160+len(it.Message.Text))
	if it.Kind != projections.FeedReceipt && it.Kind != projections.FeedRead {
		if f, done := editFrame(b, it); done { // frames_edits.go; nil: nothing to tell
			return f
		}
	}
	switch it.Kind {
	case projections.FeedMessage:
		return h.appendMessageFrame(b, &it.Cursor, it.Message)
	case projections.FeedReceipt:
		return appendReceiptFrame(b, TypeReceipt, it)
	case projections.FeedReadUpTo:
		return appendReadUpToFrame(b, it)
	case projections.FeedSent:
		return h.appendSentFrame(b, it)
	default:
		return appendReceiptFrame(b, TypeRead, it)
	}
}

// Connections returns how many connections user has on this node.
func (h *Hub) Connections(user domain.UserID) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns[user])
}

// Open returns how many connections are open on this node, and of how
// many users (for the metrics' gauges).
func (h *Hub) Open() (conns, users int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.open, len(h.conns)
}

// add registers c unless its user is at the limit or the hub is closed,
// with the session it was authenticated with (nil: none known).
func (h *Hub) add(c *conn, sess *commands.Session) (websocket.StatusCode, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return CloseGoingAway, false
	}
	if sess != nil {
		if _, ok := h.revoked[sess.Token]; ok {
			return CloseSessionEnded, false
		}
	}
	set := h.conns[c.user]
	if len(set) >= h.cfg.MaxConnsPerUser {
		return CloseTooManyConnections, false
	}
	if set == nil {
		set = map[*conn]struct{}{}
		h.conns[c.user] = set
	}
	set[c] = struct{}{}
	h.open++
	if sess != nil {
		c.session = &connSession{token: sess.Token, expires: sess.ExpiresAt}
		h.byToken[sess.Token] = append(h.byToken[sess.Token], c)
	}
	return 0, true
}

// revokedMemory is how long a revoked token is refused by add: longer
// than an authentication takes to reach it.
const revokedMemory = time.Minute

// Revoke closes, with CloseSessionEnded, every connection of this node
// that was authenticated with the token (signed out or replaced).
func (h *Hub) Revoke(token commands.TokenHash) {
	h.mu.Lock()
	doomed := slices.Clone(h.byToken[token])
	// A connection authenticated with the token just before it was revoked
	// may register after this: add refuses it for a while.
	now := time.Now()
	for t, at := range h.revoked {
		if now.Sub(at) > revokedMemory {
			delete(h.revoked, t)
		}
	}
	h.revoked[token] = now
	h.mu.Unlock()
	for _, c := range doomed {
		c.kill(CloseSessionEnded, "signed out")
	}
}

// RevokeUser closes, with CloseSessionEnded, every connection of this
// node of user (the account was deleted).
func (h *Hub) RevokeUser(user domain.UserID) {
	h.mu.Lock()
	var doomed []*conn
	for c := range h.conns[user] {
		doomed = append(doomed, c)
	}
	h.mu.Unlock()
	for _, c := range doomed {
		c.kill(CloseSessionEnded, "account deleted")
	}
}

func (h *Hub) remove(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.conns[c.user]; set != nil {
		if _, ok := set[c]; ok {
			h.open--
		}
		delete(set, c)
		if len(set) == 0 {
			delete(h.conns, c.user)
		}
	}
	if c.session != nil {
		tok := c.session.token
		if rest := slices.DeleteFunc(h.byToken[tok], func(x *conn) bool { return x == c }); len(rest) > 0 {
			h.byToken[tok] = rest
		} else {
			delete(h.byToken, tok)
		}
	}
}

// Close closes every connection with CloseGoingAway, refuses new ones, and
// waits (up to 10 s) until every connection's goroutines have ended, so the
// stores they read can be closed next. Calling it again only waits.
// http.Server.Shutdown does not track upgraded connections: call Close
// after it.
func (h *Hub) Close() {
	defer h.eph.close() // after the wait: the last connections' offline marks
	defer h.wait(10 * time.Second)
	h.mu.Lock()
	h.closed = true
	var all []*conn
	for _, set := range h.conns {
		for c := range set {
			all = append(all, c)
		}
	}
	h.mu.Unlock()
	for _, c := range all {
		c.kill(CloseGoingAway, "server shutting down, reconnect")
	}
}

func (h *Hub) wait(limit time.Duration) {
	done := make(chan struct{})
	go func() { h.active.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		h.log.Warn("websocket connections still closing after shutdown wait", "waited", limit)
	}
}

// ServeHTTP upgrades an authenticated request to a WebSocket, sends its
// backlog and returns; the connection is served until it closes.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	closed := h.closed
	if !closed {
		h.active.Add(1) // before Close waits: it holds mu to set closed
	}
	h.mu.Unlock()
	if !closed {
		defer h.active.Done()
	}
	u, ok := h.d.UserFrom(r.Context())
	if !ok {
		// The route must sit behind authentication; refuse rather than serve
		// an anonymous connection.
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	c, err := accept(h, w, r, u.ID)
	if err != nil {
		// Accept has answered the request (400, 403, 426).
		h.log.Debug("websocket upgrade refused", "user", u.ID, "err", err)
		return
	}
	var sess *commands.Session
	if h.d.SessionFrom != nil {
		if s, ok := h.d.SessionFrom(r.Context()); ok {
			sess = &s
		}
	}
	if code, ok := h.add(c, sess); !ok {
		h.log.Info("websocket refused", "user", u.ID, "code", int(code))
		_ = c.ws.Close(code, refuseReason(code))
		return
	}
	// serve returns once the backlog is sent; the connection's reader goes
	// on in a goroutine of its own (counted in h.active), so that an idle
	// connection keeps neither this deep stack nor the HTTP server's
	// per-request state.
	c.serve(r.URL.Query().Get("since"))
}

func refuseReason(code websocket.StatusCode) string {
	switch code {
	case CloseTooManyConnections:
		return "too many connections"
	case CloseSessionEnded:
		return "signed out"
	}
	return "server shutting down, reconnect"
}
