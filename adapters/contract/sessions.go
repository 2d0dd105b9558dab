package contract

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// session returns a session of u for tok that expires in a day.
func session(u domain.User, tok string) commands.Session {
	return commands.Session{Token: commands.HashToken(tok), User: u.ID, CreatedAt: u.CreatedAt, ExpiresAt: u.CreatedAt.Add(24 * time.Hour)}
}

// testSessions is the part of the accounts contract about passwords and
// sessions (sign-in, sign-out, expiry).
func testSessions(t *testing.T, newAccounts func(t *testing.T) commands.Accounts) {
	ctx := context.Background()
	create := func(t *testing.T, a commands.Accounts, name string, password []byte) (domain.User, string) {
		t.Helper()
		now := time.Now().UTC().Truncate(time.Millisecond)
		u := domain.User{ID: domain.UserID(domain.NewID(now)), Name: name, CreatedAt: now}
		tok := commands.NewToken()
		if err := a.CreateUser(ctx, u, password, session(u, tok)); err != nil {
			t.Fatal(err)
		}
		return u, tok
	}
	t.Run("SessionKeepsItsTimes", func(t *testing.T) {
		a := newAccounts(t)
		u, tok := create(t, a, "carol", nil)
		_, s, err := a.UserByToken(ctx, commands.HashToken(tok))
		want := session(u, tok)
		if err != nil || s.User != u.ID || s.Token != want.Token || !s.CreatedAt.Equal(want.CreatedAt) || !s.ExpiresAt.Equal(want.ExpiresAt) {
			t.Fatalf("UserByToken session: %+v, %v; want %+v", s, err, want)
		}
	})
	t.Run("PasswordHashIsKeptAndOptional", func(t *testing.T) {
		a := newAccounts(t)
		hash := []byte("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
		with, _ := create(t, a, "dave", hash)
		without, _ := create(t, a, "erin", nil)
		if got, err := a.PasswordHash(ctx, with.ID); err != nil || string(got) != string(hash) {
			t.Fatalf("PasswordHash of a user with one: %q, %v", got, err)
		}
		if got, err := a.PasswordHash(ctx, without.ID); err != nil || got != nil {
			t.Fatalf("PasswordHash of a user without one: %q, %v; want nil", got, err)
		}
		if _, err := a.PasswordHash(ctx, domain.UserID(domain.NewID(time.Now()))); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("PasswordHash of an unknown user: %v", err)
		}
	})
	t.Run("SecondSessionThenSignOut", func(t *testing.T) {
		a := newAccounts(t)
		u, first := create(t, a, "frank", nil)
		second := commands.NewToken()
		s := session(u, second)
		s.ExpiresAt = s.ExpiresAt.Add(time.Hour)
		if err := a.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		got, gs, err := a.UserByToken(ctx, commands.HashToken(second))
		if err != nil || got.ID != u.ID || !gs.ExpiresAt.Equal(s.ExpiresAt) {
			t.Fatalf("UserByToken of the second token: %+v %+v, %v", got, gs, err)
		}
		if err := a.DeleteSession(ctx, commands.HashToken(first)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.UserByToken(ctx, commands.HashToken(first)); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("UserByToken of a deleted token: %v, want ErrNotFound", err)
		}
		if _, _, err := a.UserByToken(ctx, commands.HashToken(second)); err != nil {
			t.Fatalf("deleting one token revoked another: %v", err)
		}
		if err := a.DeleteSession(ctx, commands.HashToken(first)); err != nil {
			t.Fatalf("deleting a token twice: %v", err)
		}
	})
	t.Run("SessionOfUnknownUserIsNotFound", func(t *testing.T) {
		a := newAccounts(t)
		now := time.Now().UTC()
		s := commands.Session{Token: commands.HashToken(commands.NewToken()), User: domain.UserID(domain.NewID(now)), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := a.CreateSession(ctx, s); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("CreateSession of an unknown user: %v, want ErrNotFound", err)
		}
	})
}
