package main

// End-to-end tests of typing indicators and presence (docs/websocket.md,
// "Typing and presence"; docs/api.md) against the built binary: one
// process (embedded or real backends), a restart for last seen, and, with
// the real backends, two processes sharing PostgreSQL.
//
//	go test -count=1 -run 'Typing|Presence' -v ./cmd/tidings/
//	eval "$(bash scripts/services.sh env)"; TIDINGS_E2E_REAL=1 go test -count=1 -run 'Typing|Presence' ./cmd/tidings/

import (
	"encoding/json"
	"net/http"
	"testing"
)

// ephFrame is the fields of the typing, presence and watch-ack frames.
type ephFrame struct {
	Type     string   `json:"type"`
	From     string   `json:"from"`
	State    string   `json:"state"`
	TTLms    int64    `json:"ttl_ms"`
	User     string   `json:"user"`
	Online   bool     `json:"online"`
	LastSeen *string  `json:"last_seen"`
	OK       bool     `json:"ok"`
	Error    *wsError `json:"error"`
	Presence *struct {
		User     string  `json:"user"`
		Online   bool    `json:"online"`
		LastSeen *string `json:"last_seen"`
	} `json:"presence"`
}

// nextOf returns the next frame of type typ, skipping others (backlog,
// receipts).
func (w *wsClient) nextOf(t *testing.T, typ string) ephFrame {
	t.Helper()
	for {
		f := w.must(t, "a "+typ+" frame")
		if f.Type != typ {
			continue
		}
		var e ephFrame
		if err := json.Unmarshal(f.raw, &e); err != nil {
			t.Fatalf("%s: decode %s: %v", w.name, f, err)
		}
		return e
	}
}

// askEph sends an ephemeral frame with ref and returns its ack.
func (w *wsClient) askEph(t *testing.T, frame map[string]string) ephFrame {
	t.Helper()
	w.send(t, frame)
	f, _ := w.ack(t, frame["ref"])
	var e ephFrame
	if err := json.Unmarshal(f.raw, &e); err != nil {
		t.Fatalf("%s: decode %s: %v", w.name, f, err)
	}
	return e
}

// presenceOf is GET /users/{id}/presence as u.
func presenceOf(t *testing.T, a *api, u user, id string) (int, ephFrame) {
	t.Helper()
	res := a.get(t, u, "/users/"+id+"/presence")
	var p ephFrame
	if res.Status == http.StatusOK {
		p = decode[ephFrame](t, res)
	}
	return res.Status, p
}

func setHideLastSeen(t *testing.T, a *api, u user, hide bool) {
	t.Helper()
	body := map[string]bool{"hide_last_seen": hide}
	res := a.do(t, request{Method: http.MethodPatch, Path: "/me/settings", Token: u.Token, Body: jsonBody(t, body)})
	expectStatus(t, res, http.StatusOK)
	if got := decode[map[string]bool](t, res); got["hide_last_seen"] != hide {
		t.Fatalf("PATCH /me/settings answered %v", got)
	}
}

// TestTypingAndPresence: alice types and bob, on two devices, sees it;
// bob watches alice online, then offline with a last seen that GET
// /users/{id}/presence agrees with and that survives a restart; hiding
// last seen hides it; strangers get 404, and so does everyone once the
// account is deleted.
func TestTypingAndPresence(t *testing.T) {
	inst := newInstance(t)
	srv := inst.start(t, serverOptions{})
	a := newAPI(t, srv, newPositions())
	sfx := randomSuffix(6)
	alice, bob, carol := a.register(t, "tpalice-"+sfx), a.register(t, "tpbob-"+sfx), a.register(t, "tpcarol-"+sfx)
	wsSendREST(t, a, alice, bob, "hello") // a conversation: bob may see alice's presence
	// Once the views hold it (a read with the send's position waits).
	expectStatus(t, a.get(t, bob, "/conversations"), http.StatusOK)

	b1, b2 := wsDial(t, srv, bob, "", "bob 1"), wsDial(t, srv, bob, "", "bob 2")
	b1.ready(t)
	b2.ready(t)
	w := b1.askEph(t, map[string]string{"type": "watch", "user": alice.ID, "ref": "w1"})
	if !w.OK || w.Presence == nil || w.Presence.Online || w.Presence.LastSeen != nil {
		t.Fatalf("watch of alice before she ever connected: %+v", w)
	}

	ac := wsDial(t, srv, alice, "", "alice")
	ac.ready(t)
	if p := b1.nextOf(t, "presence"); p.User != alice.ID || !p.Online {
		t.Fatalf("presence when alice connected: %+v", p)
	}
	if code, p := presenceOf(t, a, bob, alice.ID); code != http.StatusOK || !p.Online {
		t.Fatalf("GET presence of alice while connected: %d %+v", code, p)
	}

	if ack := ac.askEph(t, map[string]string{"type": "typing", "to": bob.ID, "state": "start", "ref": "t1"}); !ack.OK {
		t.Fatalf("typing ack: %+v", ack)
	}
	for _, c := range []*wsClient{b1, b2} {
		if f := c.nextOf(t, "typing"); f.From != alice.ID || f.State != "start" || f.TTLms != 6000 {
			t.Fatalf("%s: typing frame %+v", c.name, f)
		}
	}
	// Typing to someone with no conversation is allowed (it precedes a
	// first message) and answered the same whether they are online.
	if ack := ac.askEph(t, map[string]string{"type": "typing", "to": carol.ID, "state": "start", "ref": "t2"}); !ack.OK {
		t.Fatalf("typing to carol: %+v", ack)
	}

	_ = ac.conn.CloseNow() // alice leaves while typing
	if f := b1.nextOf(t, "typing"); f.State != "stop" {
		t.Fatalf("typing after alice left: %+v, want stop", f)
	}
	p := b1.nextOf(t, "presence")
	if p.Online || p.LastSeen == nil {
		t.Fatalf("presence when alice left: %+v, want offline with last_seen", p)
	}
	lastSeen := *p.LastSeen
	if code, rp := presenceOf(t, a, bob, alice.ID); code != http.StatusOK || rp.Online || rp.LastSeen == nil || *rp.LastSeen != lastSeen {
		t.Fatalf("GET presence of alice after she left: %d %+v, want last_seen %s", code, rp, lastSeen)
	}
	// Carol has no conversation with alice: as if alice did not exist.
	if code, _ := presenceOf(t, a, carol, alice.ID); code != http.StatusNotFound {
		t.Fatalf("GET presence of alice by a stranger: %d, want 404", code)
	}
	if ack := wsDial(t, srv, carol, "", "carol").askEph(t, map[string]string{"type": "watch", "user": alice.ID, "ref": "w"}); ack.OK || ack.Error == nil || ack.Error.Code != "not_found" {
		t.Fatalf("watch of alice by a stranger: %+v, want not_found", ack)
	}

	// Alice hides her last seen: bob sees her offline, without a time.
	setHideLastSeen(t, a, alice, true)
	if _, rp := presenceOf(t, a, bob, alice.ID); rp.Online || rp.LastSeen != nil {
		t.Fatalf("GET presence of alice hiding her last seen: %+v", rp)
	}
	setHideLastSeen(t, a, alice, false)

	// Last seen survives a restart.
	srv.stop()
	srv = inst.start(t, serverOptions{})
	a = newAPI(t, srv, newPositions())
	if code, rp := presenceOf(t, a, bob, alice.ID); code != http.StatusOK || rp.Online || rp.LastSeen == nil || *rp.LastSeen != lastSeen {
		t.Fatalf("GET presence of alice after a restart: %d %+v, want last_seen %s", code, rp, lastSeen)
	}

	// Alice deletes her account: her presence goes with it.
	expectStatus(t, a.do(t, request{Method: http.MethodDelete, Path: "/me", Token: alice.Token, Body: []byte("{}")}), http.StatusNoContent)
	if code, _ := presenceOf(t, a, bob, alice.ID); code != http.StatusNotFound {
		t.Fatalf("GET presence of a deleted account: %d, want 404", code)
	}
}

// TestTypingAndPresenceAcrossNodes: with the real backends, alice on one
// process and bob on another: typing and presence cross through
// PostgreSQL's LISTEN/NOTIFY.
func TestTypingAndPresenceAcrossNodes(t *testing.T) {
	if !realBackends() {
		t.Skip("two processes: needs TIDINGS_E2E_REAL=1 and the real services (scripts/services.sh)")
	}
	inst := newInstance(t)
	one := inst.start(t, serverOptions{})
	two := inst.wsSecondServer(t, serverOptions{})
	a := newAPI(t, one, newPositions())
	sfx := randomSuffix(6)
	alice, bob := a.register(t, "xnalice-"+sfx), a.register(t, "xnbob-"+sfx)
	wsSendREST(t, a, alice, bob, "hello")

	bc := wsDial(t, two, bob, "", "bob on node 2")
	bc.ready(t)
	// Node 2 reads the conversation once its views hold the send: a read
	// there with the send's position waits for that.
	expectStatus(t, newAPI(t, two, a.pos).get(t, bob, "/conversations"), http.StatusOK)
	w := bc.askEph(t, map[string]string{"type": "watch", "user": alice.ID, "ref": "w"})
	if !w.OK || w.Presence.Online {
		t.Fatalf("watch on node 2: %+v", w)
	}
	ac := wsDial(t, one, alice, "", "alice on node 1")
	ac.ready(t)
	if p := bc.nextOf(t, "presence"); !p.Online {
		t.Fatalf("presence of alice (node 1) to bob (node 2): %+v", p)
	}
	ac.askEph(t, map[string]string{"type": "typing", "to": bob.ID, "state": "start", "ref": "t"})
	if f := bc.nextOf(t, "typing"); f.From != alice.ID || f.State != "start" {
		t.Fatalf("typing across nodes: %+v", f)
	}
	_ = ac.conn.CloseNow()
	if p := bc.nextOf(t, "presence"); p.Online || p.LastSeen == nil {
		t.Fatalf("alice left node 1: %+v, want offline with last_seen on node 2", p)
	}
}
