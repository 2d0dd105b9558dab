package ws

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

func TestMessageReachesEveryDevice(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	phone, laptop := e.dial(t, alice), e.dial(t, alice)
	eventually(t, 2*time.Second, "two devices registered", func() bool { return e.hub.Connections(alice.id) == 2 })

	sent, err := e.cmds.SendMessage.Handle(context.Background(), commands.SendMessage{From: bob.id, To: alice.id, Text: "hi alice"})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*websocket.Conn{"phone": phone, "laptop": laptop} {
		f := read(t, c)
		if f.Type != TypeMessage || f.Message["id"] != string(sent.Message.ID) || f.Message["text"] != "hi alice" ||
			f.Message["from"] != string(bob.id) || f.Message["status"] != "sent" {
			t.Errorf("%s got %+v, want the message frame of %s", name, f, sent.Message.ID)
		}
	}
}

func TestSendAckReadOverSocket(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	a, b := e.dial(t, alice), e.dial(t, bob)
	eventually(t, 2*time.Second, "both registered", func() bool {
		return e.hub.Connections(alice.id) == 1 && e.hub.Connections(bob.id) == 1
	})

	write(t, b, fmt.Sprintf(`{"type":"send","ref":"r1","to":%q,"text":"hello","client_msg_id":"c-1"}`, alice.id))
	ack := read(t, b)
	if ack.Type != TypeAck || ack.Ref != "r1" || !ack.OK || ack.Message["text"] != "hello" || ack.Message["client_msg_id"] != "c-1" || ack.Position == "" {
		t.Fatalf("send ack = %+v", ack)
	}
	id := ack.Message["id"].(string)
	if m := read(t, a); m.Type != TypeMessage || m.Message["id"] != id {
		t.Fatalf("recipient got %+v, want message %s", m, id)
	}

	// The recipient's device acks the push: delivered.
	write(t, a, fmt.Sprintf(`{"type":"ack","id":%q,"ref":"a1"}`, id))
	if f := read(t, a); f.Type != TypeAck || f.Ref != "a1" || !f.OK || f.Message["status"] != "delivered" {
		t.Fatalf("ack of ack = %+v", f)
	}
	if f := read(t, b); f.Type != TypeReceipt || f.Status != "delivered" || f.ID != id || f.At == "" {
		t.Fatalf("sender got %+v, want delivered receipt", f)
	}

	// Then it is read: the sender and the recipient's devices get the receipt.
	write(t, a, fmt.Sprintf(`{"type":"read","id":%q,"ref":"rd"}`, id))
	got := readN(t, a, 2)
	if len(got[TypeAck]) != 1 || !got[TypeAck][0].OK || got[TypeAck][0].Ref != "rd" || got[TypeAck][0].Message["status"] != "read" {
		t.Fatalf("read ack = %+v", got)
	}
	if len(got[TypeRead]) != 1 || got[TypeRead][0].ID != id || got[TypeRead][0].Cursor == "" {
		t.Fatalf("recipient's read frame = %+v", got)
	}
	if f := read(t, b); f.Type != TypeReceipt || f.Status != "read" || f.ID != id {
		t.Fatalf("sender got %+v, want read receipt", f)
	}

	// Marking again appends nothing and pushes nothing, but is acked.
	write(t, a, fmt.Sprintf(`{"type":"ack","id":%q}`, id))
	if f := read(t, a); f.Type != TypeAck || !f.OK || f.Ref != "" || f.Position != "" || f.Message["status"] != "read" {
		t.Fatalf("repeated ack = %+v", f)
	}
}

func TestBadFramesGetErrorAcks(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	c := e.dial(t, alice)
	missing := domain.NewID(time.Now())
	tests := []struct {
		name    string
		frame   string
		binary  bool
		wantRef string
		want    domain.Code
	}{
		{name: "malformed JSON", frame: `{"type":"send",`, want: domain.CodeMalformedJSON},
		{name: "not an object", frame: `[1,2]`, want: domain.CodeInvalidField},
		{name: "two values", frame: `{"type":"ack","id":"x"} {}`, want: domain.CodeMalformedJSON},
		{name: "a brace after the object", frame: `{"type":"ack","ref":"g1","id":"x"}}`, wantRef: "g1", want: domain.CodeMalformedJSON},
		{name: "a bracket after the object", frame: `{"type":"ack","ref":"g2","id":"x"}]`, wantRef: "g2", want: domain.CodeMalformedJSON},
		{name: "unknown type", frame: `{"type":"dance","ref":"u1"}`, wantRef: "u1", want: domain.CodeInvalidField},
		{name: "no type", frame: `{"ref":"n1"}`, wantRef: "n1", want: domain.CodeMissingField},
		{name: "unknown field", frame: `{"type":"send","ref":"f1","shout":true}`, wantRef: "f1", want: domain.CodeUnknownField},
		{name: "wrong field type", frame: `{"type":"send","ref":"t1","text":5}`, wantRef: "t1", want: domain.CodeInvalidField},
		{name: "ref too long", frame: `{"type":"ack","id":"x","ref":"` + strings.Repeat("r", MaxRefLen+1) + `"}`, want: domain.CodeInvalidField},
		{name: "binary frame", frame: `{"type":"ack","id":"x"}`, binary: true, want: domain.CodeMalformedJSON},
		{name: "ack without id", frame: `{"type":"ack","ref":"m1"}`, wantRef: "m1", want: domain.CodeMissingField},
		{name: "ack of unknown message", frame: `{"type":"ack","ref":"k1","id":"` + missing + `"}`, wantRef: "k1", want: domain.CodeNotFound},
		{name: "read of unknown message", frame: `{"type":"read","ref":"k2","id":"nope"}`, wantRef: "k2", want: domain.CodeNotFound},
		{name: "send to unknown user", frame: `{"type":"send","ref":"s1","to":"` + missing + `","text":"hi"}`, wantRef: "s1", want: domain.CodeUnknownRecipient},
		{name: "send empty text", frame: `{"type":"send","ref":"s2","to":"` + string(bob.id) + `","text":"  "}`, wantRef: "s2", want: domain.CodeEmptyText},
		{name: "send to self", frame: `{"type":"send","ref":"s3","to":"` + string(alice.id) + `","text":"me"}`, wantRef: "s3", want: domain.CodeInvalidField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := websocket.MessageText
			if tt.binary {
				typ = websocket.MessageBinary
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.Write(ctx, typ, []byte(tt.frame)); err != nil {
				t.Fatal(err)
			}
			f := read(t, c)
			if f.Type != TypeAck || f.OK || f.Error == nil || f.Error.Code != tt.want || f.Ref != tt.wantRef {
				t.Fatalf("got %+v (error %+v), want error ack %s with ref %q", f, f.Error, tt.want, tt.wantRef)
			}
		})
	}
}

func TestOversizeFrameCloses1009(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	c := e.dial(t, e.register(t, "alice"))
	big := `{"type":"send","text":"` + strings.Repeat("x", 64<<10) + `"}`
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Write(ctx, websocket.MessageText, []byte(big)) // may fail once the server closes
	if got := closeCode(t, c, 5*time.Second); got != CloseMessageTooBig {
		t.Fatalf("close code = %d, want %d", got, CloseMessageTooBig)
	}
}

func TestSlowConsumerIsClosedWithoutStallingOthers(t *testing.T) {
	e := newEnv(t, Config{SendQueue: 16, WriteTimeout: 5 * time.Second}, nil)
	alice, carol := e.register(t, "alice"), e.register(t, "carol")
	stalled := e.dial(t, alice) // never reads until the end
	healthy := e.dial(t, carol)
	eventually(t, 2*time.Second, "both registered", func() bool {
		return e.hub.Connections(alice.id) == 1 && e.hub.Connections(carol.id) == 1
	})
	var received atomic.Int64
	go func() {
		for {
			if _, _, err := healthy.Read(context.Background()); err != nil {
				return
			}
			received.Add(1)
		}
	}()

	text := strings.Repeat("x", 16<<10)
	var pushed int64
	var slowest time.Duration
	for i := 0; e.hub.Connections(alice.id) > 0; i++ {
		if i == 20000 {
			t.Fatal("the stalled connection was never closed")
		}
		now := time.Now().UTC()
		id := domain.MessageID(domain.NewID(now))
		start := time.Now()
		pos := domain.Position{Offset: int64(i) + 1}
		pushEvent(e.hub, domain.MessageSent{ID: id, From: carol.id, To: alice.id, Text: text, SentAt: now}, pos)
		pushEvent(e.hub, domain.MessageSent{ID: id, From: alice.id, To: carol.id, Text: "ok", SentAt: now}, pos)
		slowest = max(slowest, time.Since(start))
		pushed++
		// Pushes come at a pace a healthy client keeps up with; the stalled
		// one reads nothing, so its socket buffers and then its queue fill.
		time.Sleep(200 * time.Microsecond)
	}
	if slowest > 100*time.Millisecond {
		t.Errorf("Applied took %v: it must never block", slowest)
	}
	t.Logf("pushed %d frames to each client; carol connected: %d", pushed, e.hub.Connections(carol.id))
	eventually(t, 2*time.Second, "healthy client got every push", func() bool { return received.Load() == pushed })
	if e.hub.Connections(carol.id) != 1 {
		t.Fatal("healthy client was disconnected")
	}
	if got := closeCode(t, stalled, 10*time.Second); got != CloseSlowConsumer {
		t.Fatalf("stalled client's close code = %d, want %d", got, CloseSlowConsumer)
	}
}

func TestConnectionLimitPerUser(t *testing.T) {
	e := newEnv(t, Config{MaxConnsPerUser: 2}, nil)
	alice := e.register(t, "alice")
	e.dial(t, alice)
	e.dial(t, alice)
	eventually(t, 2*time.Second, "two registered", func() bool { return e.hub.Connections(alice.id) == 2 })
	third := e.dialRaw(t, alice)
	if got := closeCode(t, third, 5*time.Second); got != CloseTooManyConnections {
		t.Fatalf("third connection's close code = %d, want %d", got, CloseTooManyConnections)
	}
	if n := e.hub.Connections(alice.id); n != 2 {
		t.Fatalf("connections = %d, want 2", n)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice := e.register(t, "alice")
	tests := []struct {
		name   string
		token  string
		header http.Header
		want   int
	}{
		{name: "token as subprotocol", token: alice.token, want: http.StatusSwitchingProtocols},
		{name: "Authorization header", header: http.Header{"Authorization": {"Bearer " + alice.token}}, want: http.StatusSwitchingProtocols},
		{name: "wrong token", token: commands.NewToken(), want: http.StatusUnauthorized},
		{name: "no token", want: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp, err := e.tryDial(tt.token, tt.header)
			if c != nil {
				defer c.CloseNow()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d (err %v), want %d", resp.StatusCode, err, tt.want)
			}
			if c != nil && c.Subprotocol() != Subprotocol {
				t.Fatalf("subprotocol = %q", c.Subprotocol())
			}
		})
	}
}

func TestOriginAllowList(t *testing.T) {
	e := newEnv(t, Config{OriginPatterns: []string{"app.example.com"}}, nil)
	alice := e.register(t, "alice")
	tests := []struct {
		name, origin string
		want         int
	}{
		{"no origin (not a browser)", "", http.StatusSwitchingProtocols},
		{"allowed origin", "https://app.example.com", http.StatusSwitchingProtocols},
		{"same origin", e.srv.URL, http.StatusSwitchingProtocols},
		{"foreign origin", "https://evil.example.net", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			c, resp, err := e.tryDial(alice.token, h)
			if c != nil {
				defer c.CloseNow()
			}
			if resp == nil || resp.StatusCode != tt.want {
				t.Fatalf("response %v (err %v), want status %d", resp, err, tt.want)
			}
		})
	}
}

func TestIdleConnectionSurvivesServerTimeouts(t *testing.T) {
	// The server's read and write timeouts are far shorter than the idle
	// time: the upgraded connection must not inherit them.
	e := newEnv(t, Config{PingInterval: 50 * time.Millisecond, PingTimeout: time.Second}, func(s *http.Server) {
		s.ReadTimeout, s.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond
	})
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	c := e.dial(t, alice)
	frames := make(chan []byte, 1)
	go func() { // reading answers the pings
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				close(frames)
				return
			}
			frames <- b
		}
	}()
	time.Sleep(time.Second)
	if e.hub.Connections(alice.id) != 1 {
		t.Fatal("idle connection was dropped")
	}
	if _, err := e.cmds.SendMessage.Handle(context.Background(), commands.SendMessage{From: bob.id, To: alice.id, Text: "still there?"}); err != nil {
		t.Fatal(err)
	}
	select {
	case b, ok := <-frames:
		if !ok || !strings.Contains(string(b), "still there?") {
			t.Fatalf("got %q (open %v), want the message", b, ok)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no push after idling")
	}
}

func TestUnansweredPingsCloseTheConnection(t *testing.T) {
	e := newEnv(t, Config{PingInterval: 50 * time.Millisecond, PingTimeout: 100 * time.Millisecond}, nil)
	alice := e.register(t, "alice")
	e.dial(t, alice) // never reads, so never answers a ping
	eventually(t, 2*time.Second, "registered", func() bool { return e.hub.Connections(alice.id) == 1 })
	eventually(t, 3*time.Second, "dead connection dropped", func() bool { return e.hub.Connections(alice.id) == 0 })
}

func TestHubCloseSaysGoingAway(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice := e.register(t, "alice")
	c := e.dial(t, alice)
	eventually(t, 2*time.Second, "registered", func() bool { return e.hub.Connections(alice.id) == 1 })
	e.hub.Close()
	if got := closeCode(t, c, 5*time.Second); got != CloseGoingAway {
		t.Fatalf("close code = %d, want %d", got, CloseGoingAway)
	}
	late, _, err := e.tryDial(alice.token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer late.CloseNow()
	if got := closeCode(t, late, 5*time.Second); got != CloseGoingAway {
		t.Fatalf("connection after Close: code = %d, want %d", got, CloseGoingAway)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"patterns", Config{OriginPatterns: []string{"*.example.com"}}, true},
		{"star", Config{OriginPatterns: []string{"*"}}, false},
		{"negative queue", Config{SendQueue: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.SetDefaults()
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// frameReader reads a connection's frames in a goroutine until it ends.
type frameReader struct {
	frames chan frame
	code   websocket.StatusCode // how the connection ended; set before frames closes
}

func readFrames(c *websocket.Conn) *frameReader {
	r := &frameReader{frames: make(chan frame, 64)}
	go func() {
		defer close(r.frames)
		for {
			typ, b, err := c.Read(context.Background())
			if err != nil {
				r.code = websocket.CloseStatus(err)
				return
			}
			var f frame
			if typ != websocket.MessageText || json.Unmarshal(b, &f) != nil {
				f = frame{Type: "undecodable " + string(b)}
			}
			r.frames <- f
		}
	}()
	return r
}

func TestPipelinedFramesOfAPromptClientAreAllAcked(t *testing.T) {
	// Each frame's ack is queued for the client; a client that writes
	// frames without waiting for their acks but reads as fast as it can is
	// paced, never closed (issue 13 point 3). The sends go to a user who is
	// not connected, so the acks are all bob is sent.
	missing := domain.NewID(time.Now())
	tests := []struct {
		name  string
		cfg   Config
		frame string // argument 1: the frame's number; 2: carol's id
		ok    bool
	}{
		{"sends, queue of 1", Config{SendQueue: 1}, `{"type":"send","ref":"r%d","to":%q,"text":"hi"}`, true},
		{"acks of unknown messages, queue of 1", Config{SendQueue: 1}, `{"type":"ack","ref":"r%[1]d","id":"` + missing + `"}`, false},
		{"acks of unknown messages, default queue", Config{}, `{"type":"ack","ref":"r%[1]d","id":"` + missing + `"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg, nil)
			bob, carol := e.register(t, "bob"), e.register(t, "carol")
			b := e.dial(t, bob)
			eventually(t, 2*time.Second, "registered", func() bool { return e.hub.Connections(bob.id) == 1 })
			const total = 2000
			acks := readFrames(b)
			wrote := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				for i := range total {
					if err := b.Write(ctx, websocket.MessageText, fmt.Appendf(nil, tt.frame, i, carol.id)); err != nil {
						wrote <- err
						return
					}
				}
				wrote <- nil
			}()
			timeout := time.After(30 * time.Second)
			for i := range total {
				select {
				case f, ok := <-acks.frames:
					if !ok {
						t.Fatalf("bob's connection ended after %d acks (close code %d)", i, acks.code)
					}
					for f.Type == TypeSent { // an echo of a send that overtook its ack
						f = <-acks.frames
					}
					if f.Type != TypeAck || f.OK != tt.ok || f.Ref != fmt.Sprintf("r%d", i) {
						t.Fatalf("frame %d = %+v (error %+v), want the ack of r%d", i, f, f.Error, i)
					}
				case <-timeout:
					t.Fatalf("%d acks of %d within 30 s", i, total)
				}
			}
			if err := <-wrote; err != nil {
				t.Fatalf("write: %v", err)
			}
			if e.hub.Connections(bob.id) != 1 {
				t.Fatal("the prompt client was disconnected")
			}
		})
	}
}

// countingListener counts the Write calls on the connections it accepts:
// each is one write syscall, bar partial writes to a full socket.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{TCPConn: c.(*net.TCPConn), writes: l.writes}, nil
}

// countingConn embeds the *net.TCPConn so that it keeps its methods
// (SyscallConn among them).
type countingConn struct {
	*net.TCPConn
	writes *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.TCPConn.Write(p)
}

// countingServer serves e's hub to u alone, on a listener that counts the
// server's socket writes, and returns the /ws URL.
func (e *env) countingServer(t *testing.T, u user) (string, *atomic.Int64) {
	t.Helper()
	who, err := e.cmds.Authenticate.Handle(context.Background(), u.token)
	if err != nil {
		t.Fatal(err)
	}
	writes := new(atomic.Int64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hub.ServeHTTP(w, r.WithContext(httpapi.WithUser(r.Context(), who)))
	}))
	srv.Listener = countingListener{Listener: srv.Listener, writes: writes}
	srv.Start()
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws", writes
}

// connsOf returns user's connections on the hub.
func (h *Hub) connsOf(user domain.UserID) []*conn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []*conn
	for c := range h.conns[user] {
		out = append(out, c)
	}
	return out
}

func TestQueuedFramesGoOutInOneWrite(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	url, writes := e.countingServer(t, alice)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	untilReady(t, c)
	eventually(t, 2*time.Second, "registered", func() bool { return e.hub.Connections(alice.id) == 1 })
	sc := e.hub.connsOf(alice.id)[0]
	eventually(t, 2*time.Second, "writer idle", func() bool {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		return !sc.writing
	})

	// Hold the writer back, as if it were busy with an earlier write, while
	// pushes queue up; then let it go.
	sc.mu.Lock()
	sc.writing = true
	sc.mu.Unlock()
	const n = 50
	now := time.Now().UTC()
	for i := range n {
		ev := domain.MessageSent{ID: domain.MessageID(domain.NewID(now)), From: bob.id, To: alice.id, Text: fmt.Sprint("m", i), SentAt: now}
		pushEvent(e.hub, ev, domain.Position{Offset: 1000 + int64(i)})
	}
	before := writes.Load()
	sc.mu.Lock()
	if len(sc.queue) != n {
		t.Errorf("%d frames queued, want %d", len(sc.queue), n)
	}
	sc.writing = false
	sc.startWriterLocked()
	sc.mu.Unlock()
	for i := range n {
		if f := read(t, c); f.Type != TypeMessage || f.Message["text"] != fmt.Sprint("m", i) {
			t.Fatalf("frame %d = %+v, want message m%d", i, f, i)
		}
	}
	if got := writes.Load() - before; got != 1 {
		t.Fatalf("%d frames took %d socket writes, want 1", n, got)
	}
}

func TestIdleConnectionsHoldOneGoroutineEach(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	const n = 20
	var users []user
	for i := range n {
		users = append(users, e.register(t, fmt.Sprint("u", i)))
	}
	base := runtime.NumGoroutine()
	for _, u := range users {
		e.dial(t, u) // reads up to ready, then nothing: idle
	}
	eventually(t, 5*time.Second, "at most one goroutine per idle connection", func() bool {
		return runtime.NumGoroutine()-base <= n
	})
}

func TestFrameSentWithTheUpgradeRequestIsRead(t *testing.T) {
	// A client may send its first frame without waiting for the 101: the
	// HTTP server has read it already when the connection is upgraded.
	e := newEnv(t, Config{}, nil)
	_, br := e.rawDial(t, e.register(t, "alice"), maskedFrame(0x1, `{"type":"ack","id":"nope","ref":"early"}`))
	for {
		op, b := readServerFrame(t, br)
		if f := decodeText(t, op, b); f.Type == TypeAck {
			if f.Ref != "early" || f.OK || f.Error == nil || f.Error.Code != domain.CodeNotFound {
				t.Fatalf("ack = %+v, want not_found for ref early", f)
			}
			return
		}
	}
}

func TestPongsAndFramesInOneWriteAreAllTaken(t *testing.T) {
	// Pongs come between the client's frames, several frames come in one
	// TCP segment, and a frame may be shorter than any read buffer: each
	// frame is read and acked at once, and each pong counts.
	e := newEnv(t, Config{PingInterval: 20 * time.Millisecond, PingTimeout: 500 * time.Millisecond}, nil)
	nc, br := e.rawDial(t, e.register(t, "alice"), nil)
	// pings holds the payloads of the pings read and not answered yet;
	// next returns the next text frame, keeping the pings before it.
	var pings []string
	next := func() frame {
		t.Helper()
		for {
			op, b := readServerFrame(t, br)
			if op == 0x9 {
				pings = append(pings, string(b))
				continue
			}
			return decodeText(t, op, b)
		}
	}
	for f := next(); f.Type != TypeReady; f = next() {
	}
	for round := range 10 {
		for len(pings) == 0 {
			if op, b := readServerFrame(t, br); op == 0x9 {
				pings = append(pings, string(b))
			} else {
				t.Fatalf("round %d: frame %x %q, want a ping", round, op, b)
			}
		}
		echo := pings[len(pings)-1]
		pings = pings[:0]
		var burst []byte
		burst = append(burst, maskedFrame(0xA, echo)...)
		burst = append(burst, maskedFrame(0x1, fmt.Sprintf(`{"type":"ack","id":"nope","ref":"a%d"}`, round))...)
		burst = append(burst, maskedFrame(0xA, "unsolicited")...)
		burst = append(burst, maskedFrame(0x1, `{}`)...) // 8 bytes in all
		burst = append(burst, maskedFrame(0x1, `{}`)...)
		if _, err := nc.Write(burst); err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{fmt.Sprintf("a%d", round), "", ""} {
			if f := next(); f.Type != TypeAck || f.Ref != want {
				t.Fatalf("round %d: frame %d = %+v, want the ack of %q", round, i, f, want)
			}
		}
	}
}

// rawDial upgrades a bare TCP connection to /ws as u, sending first bytes
// right after the request, and returns it past the 101 response.
func (e *env) rawDial(t *testing.T, u user, first []byte) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET /ws HTTP/1.1\r\nHost: tidings\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: " + Subprotocol + ", bearer." + u.token + "\r\n\r\n"
	if _, err := nc.Write(append([]byte(req), first...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	return nc, br
}

// maskedFrame is a final, masked client frame (payload under 126 bytes).
func maskedFrame(opcode byte, payload string) []byte {
	mask := [4]byte{1, 2, 3, 4}
	f := append([]byte{0x80 | opcode, 0x80 | byte(len(payload))}, mask[:]...)
	for i := range len(payload) {
		f = append(f, payload[i]^mask[i%4])
	}
	return f
}

// readServerFrame reads one unmasked, final server frame.
func readServerFrame(t *testing.T, br *bufio.Reader) (opcode byte, payload []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatalf("read frame header: %v", err)
	}
	if h[0]&0xF0 != 0x80 || h[1]&0x80 != 0 {
		t.Fatalf("frame header %x %x, want a final unmasked frame", h[0], h[1])
	}
	n := int(h[1])
	if n == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			t.Fatal(err)
		}
		n = int(ext[0])<<8 | int(ext[1])
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		t.Fatal(err)
	}
	return h[0] & 0x0F, b
}

// readText reads a server frame that must be a text frame.
func readText(t *testing.T, br *bufio.Reader) frame {
	t.Helper()
	op, b := readServerFrame(t, br)
	return decodeText(t, op, b)
}

// decodeText decodes a text frame; any other frame fails the test.
func decodeText(t *testing.T, opcode byte, b []byte) frame {
	t.Helper()
	if opcode != 0x1 {
		t.Fatalf("frame %x %q, want a text frame", opcode, b)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return f
}

// A send over the limit is refused with rate_limited and says, like REST's
// Retry-After, how many seconds to wait (issue 13.9).
func TestRateLimitedAckSaysWhenToRetry(t *testing.T) {
	e := newEnvWith(t, Config{}, nil, func(d *commands.Deps) {
		d.Limiter = commands.NewRateLimiter(0.2, 1, nil) // one now, the next in 5 s
	})
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	c := e.dial(t, bob)
	for i, want := range []bool{true, false} {
		write(t, c, fmt.Sprintf(`{"type":"send","ref":"r%d","to":%q,"text":"hi"}`, i, alice.id))
		var ack map[string]any
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, b, err := c.Read(ctx)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &ack); err != nil {
				t.Fatal(err)
			}
			if ack["type"] == TypeAck {
				break
			}
		}
		if ack["ok"] != want {
			t.Fatalf("send %d: ack %v, want ok=%v", i, ack, want)
		}
		if !want {
			errObj, _ := ack["error"].(map[string]any)
			if errObj["code"] != string(domain.CodeRateLimited) || errObj["retry_after"] == nil || errObj["retry_after"].(float64) < 1 {
				t.Fatalf("rate-limited ack %v: want code rate_limited and retry_after >= 1", ack)
			}
		}
	}
}

// TestOpenCountsConnections checks the counts behind the WebSocket gauges:
// every open connection, every user with one, and none once they close.
func TestOpenCountsConnections(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	phone, laptop, other := e.dial(t, alice), e.dial(t, alice), e.dial(t, bob)
	eventually(t, 2*time.Second, "three connections of two users", func() bool {
		c, u := e.hub.Open()
		return c == 3 && u == 2
	})
	_ = phone.Close(websocket.StatusNormalClosure, "")
	eventually(t, 2*time.Second, "two connections of two users", func() bool {
		c, u := e.hub.Open()
		return c == 2 && u == 2
	})
	_ = laptop.Close(websocket.StatusNormalClosure, "")
	_ = other.Close(websocket.StatusNormalClosure, "")
	eventually(t, 2*time.Second, "no connection", func() bool {
		c, u := e.hub.Open()
		return c == 0 && u == 0
	})
}
