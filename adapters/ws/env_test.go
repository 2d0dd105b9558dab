package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// pushEvent pushes the feed item of ev at pos, as the views pipeline does
// once it has applied the event (tests that drive the hub directly).
func pushEvent(h *Hub, ev domain.Event, pos domain.Position) {
	if _, it, ok := projections.FeedItemOf(ev, pos); ok {
		h.Push(context.Background(), []projections.FeedItem{it})
	}
}

type env struct {
	db    *embedded.DB
	views projections.Reader
	hub   *Hub
	cmds  commands.Commands
	srv   *httptest.Server
}

type user struct {
	id    domain.UserID
	token string
}

// newEnv serves the REST API with /ws mounted, over the in-memory store.
// tune, when not nil, adjusts the http.Server before it starts.
func newEnv(t *testing.T, cfg Config, tune func(*http.Server)) *env {
	t.Helper()
	return newEnvWith(t, cfg, tune, nil)
}

// newEnvWith is newEnv with deps, when not nil, adjusting the commands'
// ports (say, a rate limiter) before they are built.
func newEnvWith(t *testing.T, cfg Config, tune func(*http.Server), deps func(*commands.Deps)) *env {
	t.Helper()
	return newEnvHub(t, cfg, tune, deps, nil)
}

// newEnvHub is newEnvWith with hubViews, when not nil, wrapping the views
// the hub reads (say, to drop feed items as a retention would).
func newEnvHub(t *testing.T, cfg Config, tune func(*http.Server), deps func(*commands.Deps), hubViews func(projections.Reader) projections.Reader) *env {
	t.Helper()
	db, err := embedded.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	views := db.Views()
	// The production path: the embedded event log, the views pipeline
	// consuming it, and the fanout pushing what it applied to the hub.
	elog, err := embedded.OpenEventLog(filepath.Join(t.TempDir(), "log"), embedded.EventLogConfig{Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	tracker := projections.NewTracker(views)
	vs := projections.NewViewSync(tracker, 1, 2*time.Second)
	d := commands.Deps{Log: vs.Log(elog), Accounts: db.Accounts(), SendLog: db.SendLog(), Messages: views, Sync: vs}
	if deps != nil {
		deps(&d)
	}
	cmds, err := commands.New(d)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var read projections.Reader = views
	if hubViews != nil {
		read = hubViews(views)
	}
	hub, err := NewHub(cfg, Deps{Commands: cmds, UserFrom: httpapi.UserFrom, SessionFrom: httpapi.SessionFrom, MessageJSON: httpapi.AppendMessageJSON,
		Views: read, Positions: views, Partitions: 1, Logger: quiet,
		Presence: &commands.PresenceQuery{Store: db.Presence(), Settings: db.Accounts(), Users: db.Accounts(), Talked: projections.Talked(views)}})
	if err != nil {
		t.Fatal(err)
	}
	fan := &projections.Fanout{Tracker: tracker, Push: hub.Push, Log: quiet}
	pipe := &projections.Pipeline{Store: views, Log: elog, Tracker: tracker, Push: fan.Applied}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = elog.Consume(ctx, projections.ViewsGroup, projections.StartAfter(views), pipe.Handle)
	}()
	t.Cleanup(func() { stop(); <-done; _ = elog.Close() })
	api := httpapi.New(httpapi.Config{}, httpapi.Deps{Commands: cmds, Views: views, Logger: quiet, Extra: hub.Mount, SignedOut: hub.Revoke})
	srv := httptest.NewUnstartedServer(api)
	if tune != nil {
		tune(srv.Config)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(hub.Close)
	return &env{db: db, views: views, hub: hub, cmds: cmds, srv: srv}
}

func (e *env) register(t *testing.T, name string) user {
	t.Helper()
	r, err := e.cmds.RegisterUser.Handle(context.Background(), commands.RegisterUser{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return user{id: r.User.ID, token: r.Token}
}

func (e *env) url() string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws" }

// dial connects with the token offered as a subprotocol, the way browsers
// do, and reads the backlog up to its ready frame.
func (e *env) dial(t *testing.T, u user) *websocket.Conn {
	t.Helper()
	c := e.dialRaw(t, u)
	for f := read(t, c); f.Type != TypeReady; f = read(t, c) {
	}
	return c
}

// dialRaw connects and reads nothing.
func (e *env) dialRaw(t *testing.T, u user) *websocket.Conn {
	t.Helper()
	c, _, err := e.tryDial(u.token, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if c.Subprotocol() != Subprotocol {
		t.Fatalf("subprotocol = %q, want %q", c.Subprotocol(), Subprotocol)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func (e *env) tryDial(token string, header http.Header) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	protos := []string{Subprotocol}
	if token != "" {
		protos = append(protos, "bearer."+token)
	}
	return websocket.Dial(ctx, e.url(), &websocket.DialOptions{Subprotocols: protos, HTTPHeader: header})
}

// frame is a decoded server frame.
type frame struct {
	Type     string         `json:"type"`
	Cursor   string         `json:"cursor"`
	Reset    bool           `json:"reset"`
	Ref      string         `json:"ref"`
	OK       bool           `json:"ok"`
	Status   string         `json:"status"`
	ID       string         `json:"id"`
	At       string         `json:"at"`
	Position string         `json:"position"`
	Error    *errorJSON     `json:"error"`
	Message  map[string]any `json:"message"`
}

func read(t *testing.T, c *websocket.Conn) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("frame type %v, want text", typ)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("decode frame %s: %v", b, err)
	}
	return f
}

// readN reads n frames and returns them by type (ack, message, receipt);
// frames pushed by the hub and the ack of the same command may come in
// either order.
func readN(t *testing.T, c *websocket.Conn, n int) map[string][]frame {
	t.Helper()
	out := map[string][]frame{}
	for range n {
		f := read(t, c)
		out[f.Type] = append(out[f.Type], f)
	}
	return out
}

func write(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		t.Fatalf("write frame: %v", err)
	}
}

// closeCode reads until the connection ends and returns its close status.
func closeCode(t *testing.T, c *websocket.Conn, within time.Duration) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("connection still open after %v", within)
			}
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				return websocket.CloseStatus(err)
			}
			return ce.Code
		}
	}
}

// eventually polls cond until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFeed waits until user's feed holds an item for message id of kind.
func (e *env) waitFeed(t *testing.T, u user, kind projections.FeedKind, id domain.MessageID) {
	t.Helper()
	eventually(t, 2*time.Second, fmt.Sprintf("%s item for %s in the feed", kind, id), func() bool {
		items, err := e.views.Feed(context.Background(), u.id, domain.Position{Offset: -1}, 1000)
		for _, it := range items {
			if err == nil && it.Kind == kind && it.Message.ID == id {
				return true
			}
		}
		return false
	})
}
