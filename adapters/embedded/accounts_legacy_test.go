package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// TestLegacyTokenGetsALifetime: a token stored before sessions expired (its
// record a bare user id) works after the upgrade, and from its first use
// expires LegacySessionLifetime later instead of never.
func TestLegacyTokenGetsALifetime(t *testing.T) {
	db, err := OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	a, ctx := db.Accounts(), context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := domain.User{ID: domain.UserID(domain.NewID(now)), Name: "old", CreatedAt: now}
	if err := a.CreateUser(ctx, u, nil, commands.Session{Token: commands.HashToken("other"), User: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	legacy := commands.NewToken()
	if err := a.db.Set(tokenKey(commands.HashToken(legacy)), []byte(u.ID), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	got, s, err := a.UserByToken(ctx, commands.HashToken(legacy))
	if err != nil || got.ID != u.ID {
		t.Fatalf("UserByToken of a legacy token: %+v, %v", got, err)
	}
	if d := time.Until(s.ExpiresAt); d < LegacySessionLifetime-time.Minute || d > LegacySessionLifetime {
		t.Fatalf("legacy token expires in %v, want %v", d, LegacySessionLifetime)
	}
	_, again, err := a.UserByToken(ctx, commands.HashToken(legacy))
	if err != nil || !again.ExpiresAt.Equal(s.ExpiresAt) {
		t.Fatalf("second lookup: expiry %v, %v; want the first one's %v (kept, not renewed)", again.ExpiresAt, err, s.ExpiresAt)
	}
	if err := a.DeleteSession(ctx, commands.HashToken(legacy)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.UserByToken(ctx, commands.HashToken(legacy)); err != domain.ErrNotFound {
		t.Fatalf("after sign-out: %v", err)
	}
}

func TestPruneSessions(t *testing.T) {
	db, err := OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	a, ctx := db.Accounts(), context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := domain.User{ID: domain.UserID(domain.NewID(now)), Name: "pruned", CreatedAt: now}
	old, live := commands.NewToken(), commands.NewToken()
	if err := a.CreateUser(ctx, u, nil, commands.Session{Token: commands.HashToken(old), User: u.ID, CreatedAt: now, ExpiresAt: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateSession(ctx, commands.Session{Token: commands.HashToken(live), User: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := a.PruneSessions(ctx, now); err != nil || n != 1 {
		t.Fatalf("PruneSessions: %d, %v; want 1", n, err)
	}
	if _, _, err := a.UserByToken(ctx, commands.HashToken(old)); err != domain.ErrNotFound {
		t.Fatalf("expired session after pruning: %v", err)
	}
	if _, _, err := a.UserByToken(ctx, commands.HashToken(live)); err != nil {
		t.Fatalf("live session after pruning: %v", err)
	}
}
