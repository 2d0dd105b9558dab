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
	"net/http"
	"slices"
	"strings"
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
	read := a.patch(t, carol, "/messages/"+sent[0].ID)
	expectStatus(t, read, http.StatusOK)
	// The read reaches carol's views, and its receipt alice's.
	getEventually(t, a, carol, sent[0].ID, read.Header.Get(positionHeader))
	waitStatus(t, a, alice, sent[0].ID, "read")

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
