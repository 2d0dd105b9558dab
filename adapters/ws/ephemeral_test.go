package ws

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tidings-chat/tidings/commands"
)

// ephFrame is a decoded server frame with the fields of the ephemeral
// frames.
type ephFrame struct {
	Type     string     `json:"type"`
	Ref      string     `json:"ref"`
	OK       bool       `json:"ok"`
	Error    *errorJSON `json:"error"`
	From     string     `json:"from"`
	State    string     `json:"state"`
	TTLms    int64      `json:"ttl_ms"`
	User     string     `json:"user"`
	Online   bool       `json:"online"`
	LastSeen *string    `json:"last_seen"`
	Presence *struct {
		User     string  `json:"user"`
		Online   bool    `json:"online"`
		LastSeen *string `json:"last_seen"`
	} `json:"presence"`
}

// readUntil reads frames until one of type typ (others are skipped: the
// backlog, receipts, acks of other frames).
func readUntil(t *testing.T, c *websocket.Conn, typ string) ephFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for a %s frame: %v", typ, err)
		}
		var f ephFrame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if f.Type == typ {
			return f
		}
	}
}

// ask writes a client frame and returns its ack.
func ask(t *testing.T, c *websocket.Conn, s string) ephFrame {
	t.Helper()
	write(t, c, s)
	return readUntil(t, c, TypeAck)
}

// talk makes a and b have a conversation (a sends b a message).
func (e *env) talk(t *testing.T, a, b user) {
	t.Helper()
	if _, err := e.cmds.SendMessage.Handle(context.Background(), commands.SendMessage{From: a.id, To: b.id, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "the conversation in the views", func() bool {
		ok, err := e.hub.d.Presence.Talked(context.Background(), b.id, a.id)
		return err == nil && ok
	})
}

func TestTypingReachesEveryDeviceOfThePeer(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	a := e.dial(t, alice)
	b1, b2 := e.dial(t, bob), e.dial(t, bob)
	if ack := ask(t, a, `{"type":"typing","to":"`+string(bob.id)+`","state":"start","ref":"t1"}`); !ack.OK || ack.Ref != "t1" {
		t.Fatalf("ack of typing: %+v", ack)
	}
	for _, c := range []*websocket.Conn{b1, b2} {
		f := readUntil(t, c, TypeTyping)
		if f.From != string(alice.id) || f.State != TypingStart || f.TTLms != TypingTTL.Milliseconds() {
			t.Fatalf("typing frame: %+v", f)
		}
	}
	if ack := ask(t, a, `{"type":"typing","to":"`+string(bob.id)+`","state":"stop"}`); !ack.OK {
		t.Fatalf("ack of stop: %+v", ack)
	}
	if f := readUntil(t, b1, TypeTyping); f.State != TypingStop {
		t.Fatalf("typing frame: %+v, want stop", f)
	}
}

func TestTypingToSomeoneOfflineIsAnsweredTheSame(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	a := e.dial(t, alice)
	if ack := ask(t, a, `{"type":"typing","to":"`+string(bob.id)+`","state":"start"}`); !ack.OK {
		t.Fatalf("typing to an offline user: %+v, want ok (nobody learns who is online)", ack)
	}
}

func TestBadEphemeralFramesGetErrorAcks(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	a := e.dial(t, alice)
	unknown := "01M8B1QCVA63ES9FVWWAQTKA3Q"
	for _, tc := range []struct {
		name, frame, code string
	}{
		{"typing without to", `{"type":"typing","state":"start"}`, "missing_field"},
		{"typing without state", `{"type":"typing","to":"` + string(bob.id) + `"}`, "missing_field"},
		{"typing of another state", `{"type":"typing","to":"` + string(bob.id) + `","state":"paused"}`, "invalid_field"},
		{"typing to oneself", `{"type":"typing","to":"` + string(alice.id) + `","state":"start"}`, "invalid_field"},
		{"typing to nobody", `{"type":"typing","to":"` + unknown + `","state":"start"}`, "unknown_recipient"},
		{"typing to a bad id", `{"type":"typing","to":"x","state":"start"}`, "unknown_recipient"},
		{"typing with an unknown field", `{"type":"typing","to":"` + string(bob.id) + `","state":"start","x":1}`, "unknown_field"},
		{"watch without user", `{"type":"watch"}`, "missing_field"},
		{"unwatch without user", `{"type":"unwatch"}`, "missing_field"},
		{"watch of nobody", `{"type":"watch","user":"` + unknown + `"}`, "not_found"},
		{"watch of a stranger", `{"type":"watch","user":"` + string(bob.id) + `"}`, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ack := ask(t, a, tc.frame)
			if ack.OK || ack.Error == nil || string(ack.Error.Code) != tc.code {
				t.Fatalf("ack %+v, want error %s", ack, tc.code)
			}
		})
	}
}

func TestTypingIsRateLimitedPerConnection(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	a := e.dial(t, alice)
	frame := `{"type":"typing","to":"` + string(bob.id) + `","state":"start"}`
	for i := range TypingBurst {
		if ack := ask(t, a, frame); !ack.OK {
			t.Fatalf("typing frame %d within the burst: %+v", i, ack)
		}
	}
	ack := ask(t, a, frame)
	if ack.OK || ack.Error == nil || ack.Error.Code != "rate_limited" || ack.Error.RetryAfter < 1 {
		t.Fatalf("typing frame over the burst: %+v, want rate_limited with retry_after", ack)
	}
	// Another connection of the same user has a bucket of its own.
	if ack := ask(t, e.dial(t, alice), frame); !ack.OK {
		t.Fatalf("typing on another connection: %+v", ack)
	}
}

func TestClosingWhileTypingSendsStop(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	a, b := e.dial(t, alice), e.dial(t, bob)
	ask(t, a, `{"type":"typing","to":"`+string(bob.id)+`","state":"start"}`)
	if f := readUntil(t, b, TypeTyping); f.State != TypingStart {
		t.Fatalf("typing frame %+v", f)
	}
	_ = a.Close(websocket.StatusNormalClosure, "")
	if f := readUntil(t, b, TypeTyping); f.State != TypingStop || f.From != string(alice.id) {
		t.Fatalf("after the typist closed: %+v, want stop", f)
	}
}

func TestWatchShowsOnlineThenLastSeen(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	e.talk(t, alice, bob)
	b := e.dial(t, bob)
	ack := ask(t, b, `{"type":"watch","user":"`+string(alice.id)+`","ref":"w"}`)
	if !ack.OK || ack.Presence == nil || ack.Presence.User != string(alice.id) || ack.Presence.Online || ack.Presence.LastSeen != nil {
		t.Fatalf("watch of a user never seen: %+v %+v", ack, ack.Presence)
	}
	a := e.dial(t, alice)
	if f := readUntil(t, b, TypePresence); f.User != string(alice.id) || !f.Online || f.LastSeen != nil {
		t.Fatalf("presence when alice connected: %+v", f)
	}
	before := time.Now().UTC().Add(-time.Second)
	_ = a.Close(websocket.StatusNormalClosure, "")
	f := readUntil(t, b, TypePresence)
	if f.Online || f.LastSeen == nil {
		t.Fatalf("presence when alice left: %+v, want offline with last_seen", f)
	}
	if at, err := time.Parse(time.RFC3339Nano, *f.LastSeen); err != nil || at.Before(before) || at.After(time.Now().Add(time.Second)) {
		t.Fatalf("last_seen %q, want about now (%v)", *f.LastSeen, err)
	}
	// A new watch says the same.
	ack = ask(t, b, `{"type":"watch","user":"`+string(alice.id)+`"}`)
	if ack.Presence == nil || ack.Presence.Online || ack.Presence.LastSeen == nil || *ack.Presence.LastSeen != *f.LastSeen {
		t.Fatalf("watch after alice left: %+v", ack.Presence)
	}
	// After unwatch, nothing more comes to b; another watcher (b2) shows
	// when the change has been delivered.
	ask(t, b, `{"type":"unwatch","user":"`+string(alice.id)+`"}`)
	b2 := e.dial(t, bob)
	ask(t, b2, `{"type":"watch","user":"`+string(alice.id)+`"}`)
	e.dial(t, alice)
	if f := readUntil(t, b2, TypePresence); !f.Online {
		t.Fatalf("presence to the other watcher: %+v", f)
	}
	write(t, b, `{"type":"typing","to":"`+string(alice.id)+`","state":"stop","ref":"probe"}`)
	if f := read(t, b); f.Type != TypeAck || f.Ref != "probe" {
		t.Fatalf("after unwatch b got %+v, want only the probe's ack", f)
	}
}

func TestOnlineOnlyWhenTheLastConnectionCloses(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	e.talk(t, alice, bob)
	a1, a2 := e.dial(t, alice), e.dial(t, alice)
	eventually(t, 2*time.Second, "alice online", func() bool {
		on, _, err := e.db.Presence().Presence(context.Background(), alice.id, time.Now())
		return err == nil && on
	})
	b := e.dial(t, bob)
	if ack := ask(t, b, `{"type":"watch","user":"`+string(alice.id)+`"}`); !ack.Presence.Online {
		t.Fatalf("watch: %+v", ack.Presence)
	}
	_ = a1.Close(websocket.StatusNormalClosure, "")
	eventually(t, 2*time.Second, "alice's first connection gone", func() bool { return e.hub.Connections(alice.id) == 1 })
	_ = a2.Close(websocket.StatusNormalClosure, "")
	if f := readUntil(t, b, TypePresence); f.Online {
		t.Fatalf("presence after both closed: %+v", f)
	}
}

func TestHiddenLastSeenIsHiddenBothWays(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	e.talk(t, alice, bob)
	settings := e.db.Accounts()
	ctx := context.Background()
	leave := func(u user) {
		c := e.dial(t, u)
		_ = c.Close(websocket.StatusNormalClosure, "")
		eventually(t, 2*time.Second, "offline with a last seen", func() bool {
			on, last, err := e.db.Presence().Presence(ctx, u.id, time.Now())
			return err == nil && !on && !last.IsZero() && e.hub.Connections(u.id) == 0
		})
	}
	leave(alice)
	leave(bob)
	for _, tc := range []struct {
		name            string
		aliceHides, bob bool
		shown           bool
	}{
		{"nobody hides", false, false, true},
		{"alice hides hers", true, false, false},
		{"bob hides his, so sees nobody's", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := settings.SetSettings(ctx, alice.id, commands.Settings{HideLastSeen: tc.aliceHides}); err != nil {
				t.Fatal(err)
			}
			if err := settings.SetSettings(ctx, bob.id, commands.Settings{HideLastSeen: tc.bob}); err != nil {
				t.Fatal(err)
			}
			b := e.dial(t, bob)
			ack := ask(t, b, `{"type":"watch","user":"`+string(alice.id)+`"}`)
			if !ack.OK || (ack.Presence.LastSeen != nil) != tc.shown {
				t.Fatalf("watch: %+v, last_seen shown: %v, want %v", ack.Presence, ack.Presence.LastSeen != nil, tc.shown)
			}
			// And so does the push when alice leaves again.
			a := e.dial(t, alice)
			readUntil(t, b, TypePresence)
			_ = a.Close(websocket.StatusNormalClosure, "")
			f := readUntil(t, b, TypePresence)
			if f.Online || (f.LastSeen != nil) != tc.shown {
				t.Fatalf("push: %+v, last_seen shown: %v, want %v", f, f.LastSeen != nil, tc.shown)
			}
			_ = b.Close(websocket.StatusNormalClosure, "")
		})
	}
}

func TestSettingsChangeReachesOpenWatches(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	e.talk(t, alice, bob)
	b := e.dial(t, bob)
	ask(t, b, `{"type":"watch","user":"`+string(alice.id)+`"}`)
	// Bob hides his last seen while watching: he stops seeing alice's.
	if err := e.db.Accounts().SetSettings(context.Background(), bob.id, commands.Settings{HideLastSeen: true}); err != nil {
		t.Fatal(err)
	}
	e.hub.SettingsChanged(context.Background(), bob.id, commands.Settings{HideLastSeen: true})
	a := e.dial(t, alice)
	readUntil(t, b, TypePresence)
	_ = a.Close(websocket.StatusNormalClosure, "")
	if f := readUntil(t, b, TypePresence); f.Online || f.LastSeen != nil {
		t.Fatalf("push after bob hid his last seen: %+v, want no last_seen", f)
	}
}

func TestCoalesceKeepsEachUsersLastMark(t *testing.T) {
	t0 := time.Now()
	for _, tc := range []struct {
		name string
		in   []mark
		want []mark
	}{
		{"empty", nil, nil},
		{"one", []mark{{"a", true, t0}}, []mark{{"a", true, t0}}},
		{"reconnect", []mark{{"a", false, t0}, {"a", true, t0.Add(1)}}, []mark{{"a", true, t0.Add(1)}}},
		{"two users, then close", []mark{{"a", true, t0}, {"b", true, t0}, {"a", false, t0.Add(2)}, {}},
			[]mark{{"b", true, t0}, {"a", false, t0.Add(2)}, {}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := coalesce(append([]mark(nil), tc.in...))
			if len(got) != len(tc.want) {
				t.Fatalf("coalesce = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i].user != tc.want[i].user || got[i].online != tc.want[i].online || !got[i].at.Equal(tc.want[i].at) {
					t.Fatalf("coalesce = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestPresenceOnAnotherNodeCounts: a user online through another node
// (marked in the shared store) stays online when their connection here
// closes, and their connecting here is no change to tell.
func TestPresenceOnAnotherNodeCounts(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	e.talk(t, alice, bob)
	ctx := context.Background()
	store := e.db.Presence()
	if err := store.Beat(ctx, "elsewhere", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := store.Online(ctx, "elsewhere", alice.id, time.Now()); err != nil {
		t.Fatal(err)
	}
	b := e.dial(t, bob)
	if ack := ask(t, b, `{"type":"watch","user":"`+string(alice.id)+`"}`); !ack.Presence.Online {
		t.Fatalf("watch of alice online elsewhere: %+v", ack.Presence)
	}
	a := e.dial(t, alice)
	_ = a.Close(websocket.StatusNormalClosure, "")
	eventually(t, 2*time.Second, "alice's connection here gone", func() bool { return e.hub.Connections(alice.id) == 0 })
	// The marks of bob's connection and of alice's two changes, each
	// stored and, had it been a change, told.
	eventually(t, 2*time.Second, "the marks stored", func() bool { return e.hub.eph.stored.Load() >= 3 })
	on, _, err := store.Presence(ctx, alice.id, time.Now())
	if err != nil || !on {
		t.Fatalf("alice after closing here: online=%v %v, want online (elsewhere)", on, err)
	}
	write(t, b, `{"type":"unwatch","user":"nobody-in-particular","ref":"probe"}`)
	if f := read(t, b); f.Type != TypeAck || f.Ref != "probe" {
		t.Fatalf("bob got %+v, want no presence frame (alice never went offline, nor newly online)", f)
	}
}

// TestUsersOfADeadNodeGoOffline: a node that stops beating without
// closing its sockets (killed) takes its users offline for their watchers
// once a sweep finds it dead, last seen at its last beat.
func TestUsersOfADeadNodeGoOffline(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	e.talk(t, alice, bob)
	ctx := context.Background()
	store := e.db.Presence()
	beat := time.Now().UTC().Truncate(time.Millisecond)
	if err := store.Beat(ctx, "doomed", beat); err != nil {
		t.Fatal(err)
	}
	if err := store.Online(ctx, "doomed", alice.id, beat); err != nil {
		t.Fatal(err)
	}
	b := e.dial(t, bob)
	if ack := ask(t, b, `{"type":"watch","user":"`+string(alice.id)+`"}`); !ack.Presence.Online {
		t.Fatalf("watch of alice online on the doomed node: %+v", ack.Presence)
	}
	// The beat loop's sweep, as it runs once the node has been silent for
	// PresenceNodeTTL.
	e.hub.eph.sweep(ctx, beat.Add(commands.PresenceNodeTTL+time.Second))
	f := readUntil(t, b, TypePresence)
	if f.User != string(alice.id) || f.Online || f.LastSeen == nil {
		t.Fatalf("after the node died: %+v, want alice offline with last_seen", f)
	}
	if at, err := time.Parse(time.RFC3339Nano, *f.LastSeen); err != nil || !at.Equal(beat) {
		t.Fatalf("last_seen %s, want the dead node's last beat %s", *f.LastSeen, beat)
	}
}
