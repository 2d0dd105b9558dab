package ws

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// TestSignOutClosesTheTokensConnections: DELETE /sessions/current closes
// this node's connections opened with that token (4001), not those of the
// user's other tokens, and the token opens no new one.
func TestSignOutClosesTheTokensConnections(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	ctx := context.Background()
	pw := "correct horse"
	reg, err := e.cmds.RegisterUser.Handle(ctx, commands.RegisterUser{Name: "alice", Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.cmds.SignIn.Handle(ctx, commands.SignIn{Name: "alice", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	phone, laptop := user{id: reg.User.ID, token: reg.Token}, user{id: reg.User.ID, token: in.Token}
	pc, lc := e.dial(t, phone), e.dial(t, laptop)

	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/sessions/current", nil)
	req.Header.Set("Authorization", "Bearer "+phone.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /sessions/current: %d", resp.StatusCode)
	}
	if code := closeCode(t, pc, 5*time.Second); code != CloseSessionEnded {
		t.Fatalf("close code %d, want %d", code, CloseSessionEnded)
	}
	if _, resp, err := e.tryDial(phone.token, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial with the signed-out token: %v", err)
	}
	// The other token's connection is still served: it answers a frame.
	write(t, lc, `{"type":"send","ref":"r1","to":"`+string(reg.User.ID)+`","text":"note to self"}`)
	if f := read(t, lc); f.Type != TypeAck {
		t.Fatalf("laptop got %+v, want an ack", f)
	}
	if n := e.hub.Connections(reg.User.ID); n != 1 {
		t.Fatalf("%d connections of alice, want the laptop's only", n)
	}
}

// TestExpiredTokenClosesItsConnection: a connection ends (4001) when the
// token it was opened with expires.
func TestExpiredTokenClosesItsConnection(t *testing.T) {
	e := newEnvWith(t, Config{}, nil, func(d *commands.Deps) { d.SessionLifetime = time.Second })
	alice := e.register(t, "alice")
	c := e.dial(t, alice)
	if code := closeCode(t, c, 5*time.Second); code != CloseSessionEnded {
		t.Fatalf("close code %d, want %d", code, CloseSessionEnded)
	}
	if _, resp, err := e.tryDial(alice.token, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial with the expired token: %v", err)
	}
}

// A connection that passed authentication with a token just before the
// token was signed out is refused when it registers afterwards.
func TestRevokedTokenCannotRegisterLate(t *testing.T) {
	h := &Hub{conns: map[domain.UserID]map[*conn]struct{}{}, byToken: map[commands.TokenHash][]*conn{},
		revoked: map[commands.TokenHash]time.Time{}, cfg: Config{MaxConnsPerUser: 4}}
	sess := &commands.Session{Token: commands.TokenHash{1}, ExpiresAt: time.Now().Add(time.Hour)}
	h.Revoke(sess.Token)
	if code, ok := h.add(&conn{hub: h, user: "alice"}, sess); ok || code != CloseSessionEnded {
		t.Fatalf("add after the sign-out: %v, %d; want refused with %d", ok, code, CloseSessionEnded)
	}
	other := &commands.Session{Token: commands.TokenHash{2}, ExpiresAt: time.Now().Add(time.Hour)}
	if _, ok := h.add(&conn{hub: h, user: "alice"}, other); !ok {
		t.Fatal("another token's connection was refused")
	}
}
