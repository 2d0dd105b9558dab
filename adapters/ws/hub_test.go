package ws

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

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
