package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// presenceHarness is the harness with presence served over an embedded
// store of its own; changed records the settings changes told.
type presenceHarness struct {
	*harness
	db      *embedded.DB
	changed []commands.Settings
}

func newPresenceHarness(t *testing.T) *presenceHarness {
	t.Helper()
	db, err := embedded.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ph := &presenceHarness{db: db}
	ph.harness = newHarness(t, httpapi.Config{}, func(d *httpapi.Deps) {
		// The harness's commands use a store of their own: users are
		// registered in db through commands built on it.
		cmds, err := commands.New(commands.Deps{Log: &countingLog{}, Accounts: db.Accounts(), SendLog: db.SendLog(), Messages: db.Views()})
		if err != nil {
			t.Fatal(err)
		}
		d.Commands, d.Views, d.Users = cmds, db.Views(), db.Accounts()
		d.Presence = &commands.PresenceQuery{Store: db.Presence(), Settings: db.Accounts(), Users: db.Accounts(), Talked: projections.Talked(db.Views())}
		d.SettingsChanged = func(_ context.Context, _ domain.UserID, s commands.Settings) { ph.changed = append(ph.changed, s) }
	})
	cmds, err := commands.New(commands.Deps{Log: &countingLog{}, Accounts: db.Accounts(), SendLog: db.SendLog(), Messages: db.Views()})
	if err != nil {
		t.Fatal(err)
	}
	ph.cmds = cmds
	return ph
}

// talk puts a message from a to b in the views.
func (ph *presenceHarness) talk(t *testing.T, a, b domain.UserID) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	ev := domain.MessageSent{ID: domain.MessageID(domain.NewID(now)), From: a, To: b, Text: "hi", SentAt: now}
	for _, u := range []domain.UserID{a, b} {
		if err := projections.ApplyFor(context.Background(), ph.db.Views(), ev, u, domain.Position{Offset: 1}); err != nil {
			t.Fatal(err)
		}
	}
}

type presenceBody struct {
	User     string  `json:"user"`
	Online   bool    `json:"online"`
	LastSeen *string `json:"last_seen"`
}

func TestPresenceEndpoint(t *testing.T) {
	ph := newPresenceHarness(t)
	alice, aliceTok := ph.user("alice")
	bob, _ := ph.user("bob")
	carol, carolTok := ph.user("carol")
	ph.talk(t, bob, alice)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	pres := ph.db.Presence()
	_ = pres.Beat(ctx, "n1", t0)
	_ = pres.Online(ctx, "n1", bob, t0)
	_ = pres.Offline(ctx, "n1", bob, t0.Add(time.Second))

	get := func(tok string, id domain.UserID) (int, presenceBody) {
		w := ph.do(http.MethodGet, "/users/"+string(id)+"/presence", bearerHeader(tok), "")
		var b presenceBody
		_ = json.Unmarshal(w.Body.Bytes(), &b)
		return w.Code, b
	}
	for _, tc := range []struct {
		name   string
		tok    string
		id     domain.UserID
		status int
	}{
		{"a conversation peer", aliceTok, bob, http.StatusOK},
		{"oneself", carolTok, carol, http.StatusOK},
		{"a stranger", carolTok, bob, http.StatusNotFound},
		{"an unknown user", aliceTok, domain.UserID(domain.NewID(t0)), http.StatusNotFound},
		{"not an id", aliceTok, "nobody", http.StatusNotFound},
		{"no token", "", bob, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _ := get(tc.tok, tc.id); code != tc.status {
				t.Fatalf("status %d, want %d", code, tc.status)
			}
		})
	}
	code, b := get(aliceTok, bob)
	if code != http.StatusOK || b.User != string(bob) || b.Online || b.LastSeen == nil || *b.LastSeen != domain.FormatTime(t0.Add(time.Second)) {
		t.Fatalf("presence of bob: %d %+v", code, b)
	}
	// Alice hides her last seen, so she no longer sees bob's.
	w := ph.do(http.MethodPatch, "/me/settings", bearerHeader(aliceTok), `{"hide_last_seen":true}`)
	if w.Code != http.StatusOK || w.Body.String() != `{"hide_last_seen":true}`+"\n" {
		t.Fatalf("PATCH /me/settings: %d %s", w.Code, w.Body)
	}
	if _, b := get(aliceTok, bob); b.LastSeen != nil {
		t.Fatalf("alice hides hers, yet sees bob's last seen: %+v", b)
	}
}

func TestSettingsEndpoints(t *testing.T) {
	ph := newPresenceHarness(t)
	_, tok := ph.user("alice")
	if w := ph.do(http.MethodGet, "/me/settings", bearerHeader(tok), ""); w.Code != http.StatusOK || w.Body.String() != `{"hide_last_seen":false}`+"\n" {
		t.Fatalf("GET /me/settings of a new user: %d %s", w.Code, w.Body)
	}
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"unknown field", `{"hide_last_seen":true,"x":1}`, http.StatusBadRequest, "unknown_field"},
		{"wrong type", `{"hide_last_seen":"yes"}`, http.StatusBadRequest, "invalid_field"},
		{"not JSON", `{`, http.StatusBadRequest, "malformed_json"},
		{"null field", `{"hide_last_seen":null}`, http.StatusBadRequest, "invalid_field"},
		{"null body", `null`, http.StatusBadRequest, "invalid_field"},
		{"array body", `[]`, http.StatusBadRequest, "invalid_field"},
		{"number", `{"hide_last_seen":1}`, http.StatusBadRequest, "invalid_field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := ph.do(http.MethodPatch, "/me/settings", bearerHeader(tok), tc.body)
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &e)
			if w.Code != tc.status || e.Error.Code != tc.code {
				t.Fatalf("%d %s, want %d %s", w.Code, w.Body, tc.status, tc.code)
			}
		})
	}
	if len(ph.changed) != 0 {
		t.Fatalf("refused patches told of changes: %+v", ph.changed)
	}
	if w := ph.do(http.MethodPatch, "/me/settings", bearerHeader(tok), `{"hide_last_seen":true}`); w.Code != http.StatusOK {
		t.Fatalf("PATCH: %d %s", w.Code, w.Body)
	}
	if w := ph.do(http.MethodPatch, "/me/settings", bearerHeader(tok), `{}`); w.Code != http.StatusOK || w.Body.String() != `{"hide_last_seen":true}`+"\n" {
		t.Fatalf("an empty PATCH changed something: %d %s", w.Code, w.Body)
	}
	if w := ph.do(http.MethodGet, "/me/settings", bearerHeader(tok), ""); w.Body.String() != `{"hide_last_seen":true}`+"\n" {
		t.Fatalf("GET after PATCH: %s", w.Body)
	}
	if len(ph.changed) != 1 || !ph.changed[0].HideLastSeen {
		t.Fatalf("changes told: %+v, want the one", ph.changed)
	}
	if w := ph.do(http.MethodGet, "/me/settings", nil, ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", w.Code)
	}
}
