package main

// End-to-end tests of the WebSocket protocol (docs/websocket.md) against
// the built binary: pushes to several devices, receipts, resume with
// ?since=, slow consumers, bad frames and two processes.
//
//	go test -count=1 -run 'WS|WebSocket' -v ./cmd/tidings/
//	eval "$(bash scripts/services.sh env)"; TIDINGS_E2E_REAL=1 go test -count=1 -run 'WS|WebSocket' ./cmd/tidings/

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWebSocket runs the protocol scenarios on one server whose send rate
// is not limited (the resume scenario sends in a burst).
func TestWebSocket(t *testing.T) {
	inst := newInstance(t)
	srv := inst.start(t, serverOptions{Flags: []string{"--send-rate", "0"}})
	a := newAPI(t, srv, newPositions())
	sfx := randomSuffix(6)
	name := func(base string) string { return base + "-" + sfx }

	// First, while no partition holds an event yet.
	t.Run("ResumeFromReadyCursor", func(t *testing.T) { wsResumeFromReady(t, srv, a, name) })
	t.Run("TwoDevices", func(t *testing.T) { wsTwoDevices(t, srv, a, name) })
	t.Run("Receipts", func(t *testing.T) { wsReceipts(t, srv, a, name) })
	t.Run("ResumeAfterKill", func(t *testing.T) { wsResumeAfterKill(t, srv, a, name) })
	t.Run("BadFrames", func(t *testing.T) { wsBadFrames(t, srv, a, name) })
}

// wsResumeFromReady: the cursor of a ready frame is a place to resume
// from (docs: "ready.cursor is where to resume from if nothing newer
// arrives"), also when the user's partition held no event yet (cursor
// "<partition>--1"): a recipient then gets the messages and a sender the
// receipt it missed, with cursors and without a reset. Before 5ea274c such
// a cursor did not parse: the resume was answered as a reset and the
// receipt was lost.
func wsResumeFromReady(t *testing.T, srv *server, a *api, name func(string) string) {
	alice, carol := a.register(t, name("r0alice")), a.register(t, name("r0carol"))
	readies := map[string]string{}
	for _, u := range []user{alice, carol} {
		c := wsDial(t, srv, u, "", u.Name)
		ready, backlog := c.ready(t)
		if len(backlog) != 0 || ready.Reset {
			t.Errorf("%s: fresh connection: backlog %v and ready %s, want no backlog and no reset", u.Name, backlog, ready)
		}
		// Cursors are opaque; on an empty partition this one is "<partition>--1".
		if ready.Cursor == "" {
			t.Errorf("%s: ready frame %s has no cursor", u.Name, ready)
		}
		readies[u.Name] = ready.Cursor
		_ = c.conn.CloseNow()
	}

	var sent []message
	for i := range 3 {
		sent = append(sent, wsSendREST(t, a, alice, carol, fmt.Sprintf("after ready %d", i)))
	}
	expectStatus(t, a.patch(t, carol, "/messages/"+sent[0].ID), http.StatusOK)
	time.Sleep(500 * time.Millisecond) // let alice's read receipt reach the views

	check := func(u user, want []string) {
		t.Helper()
		since := readies[u.Name]
		c := wsDial(t, srv, u, since, u.Name+" resumed from its ready cursor")
		items, ready := c.resumed(t, len(want))
		if ready.Reset {
			t.Errorf("%s: resume from ready cursor %q: %s says reset, want a plain resume", u.Name, since, ready)
		}
		var got []string
		for _, f := range items {
			id := f.ID
			if f.Type == "message" {
				id = f.msg(t).ID
			}
			got = append(got, f.Type+" "+id)
			if !positionFormat.MatchString(f.Cursor) {
				t.Errorf("%s: resume from %q: frame %s has no cursor", u.Name, since, f)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: resume from ready cursor %q: got %q, want %q", u.Name, since, got, want)
		}
	}
	check(carol, []string{"message " + sent[0].ID, "message " + sent[1].ID, "message " + sent[2].ID, "read " + sent[0].ID})
	check(alice, []string{"receipt " + sent[0].ID})
}

// wsTwoDevices: both connections of a user get a message sent over REST,
// with the same cursor and the REST message JSON.
func wsTwoDevices(t *testing.T, srv *server, a *api, name func(string) string) {
	alice, bob := a.register(t, name("d1alice")), a.register(t, name("d1bob"))
	phone := wsDial(t, srv, bob, "", "bob's phone")
	laptop := wsDial(t, srv, bob, "", "bob's laptop")
	phone.ready(t)
	laptop.ready(t)

	m := wsSendREST(t, a, alice, bob, "hello, both of you")
	var cursors []string
	for _, d := range []*wsClient{phone, laptop} {
		f := d.expect(t, "message")
		if !positionFormat.MatchString(f.Cursor) {
			t.Errorf("%s: message frame %s: cursor is not <partition>-<offset>", d.name, f)
		}
		checkMessageShape(t, f.Message)
		got := f.msg(t)
		if got.ID != m.ID || got.From != alice.ID || got.To != bob.ID || got.Text != m.Text ||
			got.SentAt != m.SentAt || got.Status != "sent" {
			t.Errorf("%s: pushed %v, want %v", d.name, got, m)
		}
		cursors = append(cursors, f.Cursor)
		d.quiet(t, wsQuiet, "one message was sent")
	}
	if cursors[0] != cursors[1] {
		t.Errorf("the devices got cursors %v for one message, want the same", cursors)
	}
}

// wsReceipts: the recipient's ack yields a delivered receipt to the
// sender, then its read (frame or PATCH) a read receipt, in that order
// with growing cursors; the recipient's devices get a read frame.
func wsReceipts(t *testing.T, srv *server, a *api, name func(string) string) {
	alice, bob := a.register(t, name("rcalice")), a.register(t, name("rcbob"))
	sender := wsDial(t, srv, alice, "", "alice")
	phone := wsDial(t, srv, bob, "", "bob's phone")
	laptop := wsDial(t, srv, bob, "", "bob's laptop")
	for _, d := range []*wsClient{sender, phone, laptop} {
		d.ready(t)
	}

	for _, how := range []string{"read frame", "PATCH"} {
		m := wsSendREST(t, a, alice, bob, "receipts by "+how)
		for _, d := range []*wsClient{phone, laptop} {
			if f := d.expect(t, "message"); f.msg(t).ID != m.ID {
				t.Fatalf("%s: pushed %s, want message %s", d.name, f, m.ID)
			}
		}
		sender.quiet(t, wsQuiet, "no device acked the message yet")

		phone.send(t, map[string]string{"type": "ack", "id": m.ID, "ref": "d-" + m.ID})
		ack, before := phone.ack(t, "d-"+m.ID)
		if !ack.OK || ack.msg(t).Status != "delivered" || !positionFormat.MatchString(ack.Position) {
			t.Errorf("ack of %s: %s, want ok with the message delivered and a position", m.ID, ack)
		}
		if len(before) != 0 {
			t.Errorf("%s: frames %v before the ack, want none (a delivery pushes nothing to the recipient)", phone.name, before)
		}
		delivered := sender.expect(t, "receipt")
		if delivered.Status != "delivered" || delivered.ID != m.ID || delivered.At == "" {
			t.Errorf("first receipt %s, want delivered of %s", delivered, m.ID)
		}
		laptop.quiet(t, wsQuiet, "a delivery pushes nothing to the recipient")

		switch how {
		case "read frame":
			laptop.send(t, map[string]string{"type": "read", "id": m.ID, "ref": "r-" + m.ID})
			ack, before := laptop.ack(t, "r-"+m.ID)
			if !ack.OK || ack.msg(t).Status != "read" || !positionFormat.MatchString(ack.Position) {
				t.Errorf("read of %s: %s, want ok with the message read and a position", m.ID, ack)
			}
			for _, f := range before { // the laptop's own read frame may precede the ack
				if f.Type != "read" || f.ID != m.ID {
					t.Errorf("%s: frame %s before the ack, want at most the read of %s", laptop.name, f, m.ID)
				}
			}
			if len(before) == 0 {
				laptop.expect(t, "read")
			}
		case "PATCH":
			expectStatus(t, a.patch(t, bob, "/messages/"+m.ID), http.StatusOK)
			if f := laptop.expect(t, "read"); f.ID != m.ID {
				t.Errorf("%s: read frame %s, want read of %s", laptop.name, f, m.ID)
			}
		}
		read := sender.expect(t, "receipt")
		if read.Status != "read" || read.ID != m.ID || read.At == "" {
			t.Errorf("second receipt %s, want read of %s", read, m.ID)
		}
		wsCursorAfter(t, delivered.Cursor, read.Cursor, "read receipt after delivered receipt")
		f := phone.expect(t, "read")
		if f.Status != "read" || f.ID != m.ID || f.At != read.At || !positionFormat.MatchString(f.Cursor) {
			t.Errorf("%s: read frame %s, want read of %s at %s", phone.name, f, m.ID, read.At)
		}
		for _, d := range []*wsClient{sender, phone, laptop} {
			d.quiet(t, wsQuiet, "nothing else happened to "+m.ID)
		}
	}
}

// wsResumeAfterKill: a device killed mid-stream reconnects with the cursor
// of the last message it processed and gets exactly what it missed, in
// send order, while messages keep coming.
func wsResumeAfterKill(t *testing.T, srv *server, a *api, name func(string) string) {
	alice, bob := a.register(t, name("rsalice")), a.register(t, name("rsbob"))
	first := wsDial(t, srv, bob, "", "bob before the crash")
	first.ready(t)

	const total, processed = 60, 15
	rs := newWSRESTSender(t, srv)
	var sentCount atomic.Int64
	sentc := make(chan message, total)
	errc := make(chan error, 1)
	go func() {
		defer close(sentc)
		for i := range total {
			m, err := rs.send(alice, bob, fmt.Sprintf("resume %02d", i))
			if err != nil {
				errc <- err
				return
			}
			sentCount.Add(1)
			sentc <- m
			time.Sleep(5 * time.Millisecond)
		}
	}()

	var seen []wsFrame // message frames processed, on both connections
	for len(seen) < processed {
		f := first.expect(t, "message")
		seen = append(seen, f)
	}
	_ = first.conn.CloseNow() // frames it read but did not process are lost
	atKill := sentCount.Load()
	since := seen[len(seen)-1].Cursor

	second := wsDial(t, srv, bob, since, "bob after the crash")
	var sent []message
	readies := 0
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Collect what the sender sent so far without waiting.
	drain:
		for {
			select {
			case m, ok := <-sentc:
				if !ok {
					break drain
				}
				sent = append(sent, m)
			default:
				break drain
			}
		}
		if len(sent) == total && len(seen) >= total {
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("sender: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %d messages sent, %d received", len(sent), len(seen))
		}
		f, ok := second.next(200 * time.Millisecond)
		if !ok {
			continue
		}
		switch {
		case f.Type == "ready":
			readies++
			if f.Reset {
				t.Errorf("resume from %s: ready %s says reset", since, f)
			}
		case f.Type == "message" && f.Cursor != "":
			seen = append(seen, f)
		default:
			t.Errorf("%s: frame %s, want message frames with cursors and one ready", second.name, f)
		}
	}
	second.quiet(t, wsQuiet, "every message was received")
	t.Logf("killed after processing %d of %d messages, with %d sent; %d came after resuming", processed, total, atKill, len(seen)-processed)
	if atKill >= total {
		t.Logf("note: the sender had finished before the kill")
	}
	if readies != 1 {
		t.Errorf("%s: %d ready frames, want 1", second.name, readies)
	}
	var ids []string
	for i, f := range seen {
		ids = append(ids, f.msg(t).ID)
		if i > 0 {
			wsCursorAfter(t, seen[i-1].Cursor, f.Cursor, fmt.Sprintf("message %d of %d", i, len(seen)))
		}
	}
	if want := wsIDs(sent); !slices.Equal(ids, want) {
		t.Errorf("message ids across both connections (kill after %d):\n got %v\nwant %v", processed, ids, want)
	}
}

// wsBadFrames: bad client frames are answered with error acks and leave
// the connection working; an oversize frame closes with 1009; bad or no
// tokens are refused before the upgrade; the server stays healthy.
func wsBadFrames(t *testing.T, srv *server, a *api, name func(string) string) {
	alice, bob := a.register(t, name("bfalice")), a.register(t, name("bfbob"))
	c := wsDial(t, srv, bob, "", "bob")
	c.ready(t)

	tests := []struct {
		name      string
		typ       websocket.MessageType
		frame     string
		ref, code string
	}{
		{"malformed JSON", websocket.MessageText, `{"type":"ack",`, "", "malformed_json"},
		{"two JSON values", websocket.MessageText, `{"type":"ack","id":"x"} {}`, "", "malformed_json"},
		{"binary frame", websocket.MessageBinary, `{"type":"ack","id":"x","ref":"b1"}`, "", "malformed_json"},
		{"invalid UTF-8", websocket.MessageText, "{\"type\":\"ack\",\"id\":\"\xff\"}", "", "invalid_utf8"},
		{"not an object", websocket.MessageText, `[1,2]`, "", "invalid_field"},
		{"unknown type", websocket.MessageText, `{"type":"shout","ref":"t1"}`, "t1", "invalid_field"},
		{"no type", websocket.MessageText, `{"ref":"t2"}`, "t2", "missing_field"},
		{"ack without id", websocket.MessageText, `{"type":"ack","ref":"t3"}`, "t3", "missing_field"},
		{"unknown field", websocket.MessageText, `{"type":"read","id":"x","ref":"t4","colour":"red"}`, "t4", "unknown_field"},
		{"wrong field type", websocket.MessageText, `{"type":"read","id":7,"ref":"t5"}`, "t5", "invalid_field"},
		{"ref too long", websocket.MessageText, `{"type":"shout","ref":"` + strings.Repeat("r", 65) + `"}`, "", "invalid_field"},
		{"unknown message", websocket.MessageText, `{"type":"ack","id":"01ARZ3NDEKTSV4RRFFQ69G5FAV","ref":"t6"}`, "t6", "not_found"},
		{"someone else's message", websocket.MessageText, "", "t7", "not_found"}, // frame set below
		{"send to self", websocket.MessageText, `{"type":"send","to":"` + bob.ID + `","text":"me","ref":"t8"}`, "t8", "invalid_field"},
		{"exactly 64 KiB", websocket.MessageText, wsPadFrame(`{"type":"shout","ref":"t9","text":"`, `"}`, 64<<10), "t9", "invalid_field"},
	}
	other := wsSendREST(t, a, bob, alice, "alice's to read")
	tests[12].frame = `{"type":"read","id":"` + other.ID + `","ref":"t7"}`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.write(t, tt.typ, []byte(tt.frame))
			f := c.expect(t, "ack")
			if f.OK || f.Error == nil || f.Error.Code != tt.code || f.Error.Message == "" || f.Ref != tt.ref {
				t.Errorf("ack %s, want ok:false, code %q and ref %q", f, tt.code, tt.ref)
			}
		})
	}

	// The connection still works both ways.
	c.send(t, map[string]string{"type": "send", "to": alice.ID, "text": "still here", "ref": "s1"})
	if ack, _ := c.ack(t, "s1"); !ack.OK || ack.msg(t).Text != "still here" || !positionFormat.MatchString(ack.Position) {
		t.Errorf("send after bad frames: %s, want ok with the message and a position", ack)
	}
	m := wsSendREST(t, a, alice, bob, "after the bad frames")
	if f := c.expect(t, "message"); f.msg(t).ID != m.ID {
		t.Errorf("push after bad frames: %s, want %s", f, m.ID)
	}

	t.Run("oversize frame", func(t *testing.T) {
		big := wsDial(t, srv, bob, "", "bob's oversize client")
		big.ready(t)
		frame := wsPadFrame(`{"type":"shout","text":"`, `"}`, 64<<10+1)
		ctx, cancel := context.WithTimeout(context.Background(), wsFrameWait)
		defer cancel()
		_ = big.conn.Write(ctx, websocket.MessageText, []byte(frame)) // the server may close mid-frame
		if code := big.closed(t, wsFrameWait); code != websocket.StatusMessageTooBig {
			t.Errorf("after a %d-byte frame: close code %d, want %d (1009)", len(frame), code, websocket.StatusMessageTooBig)
		}
	})

	t.Run("auth", func(t *testing.T) {
		auth := []struct {
			name   string
			protos []string
			header http.Header
		}{
			{"unknown token as subprotocol", []string{wsSubprotocol, "bearer.tdg_" + strings.Repeat("x", 40)}, nil},
			{"no token", []string{wsSubprotocol}, nil},
			{"no token, no subprotocol", nil, nil},
			{"empty bearer subprotocol", []string{wsSubprotocol, "bearer."}, nil},
			{"unknown token in Authorization", []string{wsSubprotocol}, http.Header{"Authorization": {"Bearer tdg_nope"}}},
		}
		for _, tt := range auth {
			t.Run(tt.name, func(t *testing.T) {
				wc, resp, err := wsTryDial(srv, "", tt.protos, tt.header)
				if err == nil {
					_ = wc.CloseNow()
					t.Fatalf("dial upgraded, want 401 before the upgrade")
				}
				if resp == nil {
					t.Fatalf("dial: %v, want a 401 response", err)
				}
				res := response{Status: resp.StatusCode, Header: resp.Header, req: request{Method: "GET", Path: "/ws"}}
				res.Body = wsReadAll(resp)
				expectError(t, res, http.StatusUnauthorized, "unauthorized")
			})
		}
		// A native client's Authorization header works without the token
		// subprotocol.
		wc, resp, err := wsTryDial(srv, "", []string{wsSubprotocol}, http.Header{"Authorization": {"Bearer " + alice.Token}})
		if err != nil {
			t.Fatalf("dial with Authorization: %v (%s)", err, wsRespSummary(resp))
		}
		wsStart(t, wc, "alice (Authorization header)").ready(t)
	})

	res := a.do(t, request{Method: http.MethodGet, Path: "/healthz"})
	expectStatus(t, res, http.StatusOK)
	late := wsDial(t, srv, alice, "", "alice afterwards")
	late.ready(t)
	m = wsSendREST(t, a, bob, alice, "the server is fine")
	if f := late.expect(t, "message"); f.msg(t).ID != m.ID {
		t.Errorf("push to a new connection afterwards: %s, want %s", f, m.ID)
	}
	m = wsSendREST(t, a, alice, bob, "and the old one too")
	if f := c.expect(t, "message"); f.msg(t).ID != m.ID {
		t.Errorf("push to bob's first connection afterwards: %s, want %s", f, m.ID)
	}
}

// TestWSSlowConsumer: a connection that never reads is closed (4008, or
// dropped) once its queue fills, and meanwhile another user's connection
// gets every push within 2 s.
func TestWSSlowConsumer(t *testing.T) {
	inst := newInstance(t)
	srv := inst.start(t, serverOptions{Flags: []string{"--send-rate", "0"}})
	a := newAPI(t, srv, newPositions())
	sfx := randomSuffix(6)
	alice, sam, hank := a.register(t, "scalice-"+sfx), a.register(t, "scsam-"+sfx), a.register(t, "schank-"+sfx)

	stalled, resp, err := wsTryDial(srv, "", []string{wsSubprotocol, "bearer." + sam.Token}, nil)
	if err != nil {
		t.Fatalf("dial as sam: %v (%s)", err, wsRespSummary(resp))
	}
	t.Cleanup(func() { _ = stalled.CloseNow() })
	healthy := wsDial(t, srv, hank, "", "hank")
	healthy.ready(t)
	// A first probe before the flood: the first push of a fresh topic is
	// slower (consumers and statements warming up) and is no measure.
	warm := wsSendREST(t, a, alice, hank, "warm-up")
	if f := healthy.expect(t, "message"); f.msg(t).ID != warm.ID {
		t.Fatalf("warm-up: pushed %s, want %s", f, warm.ID)
	}

	const (
		maxFlood  = 6000
		floodWait = 60 * time.Second
	)
	// A push must not wait for the stalled client. The bound leaves room
	// for the load the flood itself puts on a 2-core machine: with real
	// backends the slowest healthy push was 0.7-1.75 s in passing runs and
	// ~1.1 s when the flooded client did read, so it is load, not the stall.
	pushLimit := 2 * time.Second
	if realBackends() {
		pushLimit = 5 * time.Second
	}
	big := strings.Repeat("\U0001D11E", 4000) // 4000 characters, 16 000 bytes
	rs := newWSRESTSender(t, srv)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var (
		flooded  atomic.Int64
		floodErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	for range 3 {
		wg.Go(func() {
			for ctx.Err() == nil && flooded.Load() < maxFlood {
				if _, err := rs.send(alice, sam, big); err != nil {
					errOnce.Do(func() { floodErr = err })
					return
				}
				flooded.Add(1)
			}
		})
	}

	var (
		worst     time.Duration // from POST /messages answering to the push
		worstPost time.Duration // of POST /messages
		probes    int
		closeAt   int64 = -1
	)
	start := time.Now()
	for afterClose := 0; afterClose < 5; probes++ {
		if closeAt < 0 && strings.Contains(srv.log.String(), "websocket slow consumer") {
			closeAt = flooded.Load()
			stop() // the queue is full: a few more probes while the views catch up
		}
		if closeAt >= 0 {
			afterClose++
		}
		if time.Since(start) > floodWait {
			stop()
			wg.Wait()
			t.Fatalf("after %v and %d messages of 16 kB, the stalled connection was not closed (no \"websocket slow consumer\" log)",
				floodWait, flooded.Load())
		}
		sentAt := time.Now()
		m, err := rs.send(alice, hank, fmt.Sprintf("probe %d", probes))
		if err != nil {
			t.Fatalf("probe %d: %v", probes, err)
		}
		posted := time.Now()
		worstPost = max(worstPost, posted.Sub(sentAt))
		f, ok := healthy.next(pushLimit)
		took := time.Since(posted)
		worst = max(worst, took)
		if !ok {
			t.Fatalf("probe %d (%d messages flooded to the stalled client): not pushed within %v of POST /messages answering (which took %v)",
				probes, flooded.Load(), pushLimit, posted.Sub(sentAt))
		}
		if f.Type != "message" || f.msg(t).ID != m.ID {
			t.Fatalf("probe %d: frame %s, want the message %s", probes, f, m.ID)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if floodErr != nil {
		t.Errorf("flooding: %v", floodErr)
	}
	t.Logf("stalled connection closed after %d 16 kB messages were sent (%d in all), %.1f s; %d probes to the healthy client, slowest push %v, slowest POST %v",
		closeAt, flooded.Load(), time.Since(start).Seconds(), probes, worst, worstPost)

	// Now read what the stalled client was sent: less than was flooded,
	// then a close with 4008 (or a dropped connection).
	s := wsStart(t, stalled, "sam (stalled)")
	got := 0
	for {
		f, ok := s.next(15 * time.Second)
		if !ok {
			break
		}
		if f.Type == "message" {
			got++
		}
	}
	if s.state() == "open" {
		t.Fatalf("the stalled connection is still open 15 s after its last frame")
	}
	code := websocket.CloseStatus(s.err)
	t.Logf("stalled client: %d message frames, then %v (close code %d)", got, s.err, code)
	if code != wsCloseSlowConsumer && code != -1 {
		t.Errorf("stalled connection closed with %d, want 4008 or a dropped connection", code)
	}
	if int64(got) >= flooded.Load() {
		t.Errorf("stalled client got %d of %d messages, want pushes dropped", got, flooded.Load())
	}
	expectStatus(t, a.do(t, request{Method: http.MethodGet, Path: "/healthz"}), http.StatusOK)
}

// wsCloseSlowConsumer is ws.CloseSlowConsumer (docs/websocket.md).
const wsCloseSlowConsumer websocket.StatusCode = 4008

// TestWSTwoProcesses: with shared backends, a recipient connected to one
// process hears of messages sent through another, receipts flow back, and
// it resumes on the other process with exactly what it missed.
func TestWSTwoProcesses(t *testing.T) {
	if !realBackends() {
		t.Skip("two processes need shared backends: run with TIDINGS_E2E_REAL=1 after eval \"$(bash scripts/services.sh env)\"")
	}
	inst := newInstance(t)
	srvA := inst.start(t, serverOptions{})
	srvB := inst.wsSecondServer(t, serverOptions{})
	pos := newPositions()
	apiA := newAPI(t, srvA, pos)
	sfx := randomSuffix(6)
	alice, bob := apiA.register(t, "tpalice-"+sfx), apiA.register(t, "tpbob-"+sfx)

	bobB := wsDial(t, srvB, bob, "", "bob on B")
	aliceA := wsDial(t, srvA, alice, "", "alice on A")
	bobB.ready(t)
	aliceA.ready(t)

	m1 := wsSendREST(t, apiA, alice, bob, "over REST to A")
	f1 := bobB.expect(t, "message")
	if f1.msg(t).ID != m1.ID {
		t.Fatalf("bob on B: pushed %s, want %s", f1, m1.ID)
	}
	aliceA.send(t, map[string]string{"type": "send", "to": bob.ID, "text": "over WebSocket to A", "ref": "s1"})
	ack, _ := aliceA.ack(t, "s1")
	if !ack.OK {
		t.Fatalf("send over WebSocket to A: %s", ack)
	}
	m2 := ack.msg(t)
	f2 := bobB.expect(t, "message")
	if f2.msg(t).ID != m2.ID {
		t.Fatalf("bob on B: pushed %s, want %s", f2, m2.ID)
	}
	wsCursorAfter(t, f1.Cursor, f2.Cursor, "second message on B")

	bobB.send(t, map[string]string{"type": "ack", "id": m2.ID, "ref": "d1"})
	if ack, _ := bobB.ack(t, "d1"); !ack.OK || ack.msg(t).Status != "delivered" {
		t.Errorf("bob acks on B: %s, want ok, delivered", ack)
	}
	if r := aliceA.expect(t, "receipt"); r.Status != "delivered" || r.ID != m2.ID {
		t.Errorf("alice on A: %s, want the delivered receipt of %s", r, m2.ID)
	}

	// Bob drops off B, misses five messages sent through A, and resumes on A.
	since := f2.Cursor
	_ = bobB.conn.CloseNow()
	var missed []message
	for i := range 5 {
		missed = append(missed, wsSendREST(t, apiA, alice, bob, fmt.Sprintf("missed %d", i)))
	}
	bobA := wsDial(t, srvA, bob, since, "bob resumed on A")
	var ids []string
	last := since
	readies := 0
	for len(ids) < len(missed) {
		f := bobA.must(t, fmt.Sprintf("the missed messages (%d of %d so far)", len(ids), len(missed)))
		switch {
		case f.Type == "ready":
			readies++
			if f.Reset {
				t.Errorf("resume on A from %s: ready %s says reset", since, f)
			}
		case f.Type == "message" && f.Cursor != "":
			wsCursorAfter(t, last, f.Cursor, "resumed message")
			last = f.Cursor
			ids = append(ids, f.msg(t).ID)
		default:
			t.Errorf("bob on A: frame %s, want messages with cursors and one ready", f)
		}
	}
	if readies == 0 {
		bobA.expect(t, "ready")
	}
	bobA.quiet(t, wsQuiet, "every missed message was received")
	if want := wsIDs(missed); !slices.Equal(ids, want) {
		t.Errorf("resumed on A: ids %v, want %v", ids, want)
	}
}

func wsIDs(ms []message) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// wsPadFrame returns head + 'a's + tail, n bytes long.
func wsPadFrame(head, tail string, n int) string {
	return head + strings.Repeat("a", n-len(head)-len(tail)) + tail
}

func wsReadAll(resp *http.Response) []byte {
	b, _ := io.ReadAll(resp.Body)
	return b
}
