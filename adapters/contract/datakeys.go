package contract

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/datakeys"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// KeyStore is an accounts store that also keeps data keys, as every
// catalog store does: deleting a user erases its keys.
type KeyStore interface {
	commands.Accounts
	datakeys.Store
}

// TestDataKeys runs the data-key contract (datakeys.Store with
// commands.Accounts.DeleteUser) against the stores newStore makes. Each
// call must return an empty store.
func TestDataKeys(t *testing.T, newStore func(t *testing.T) KeyStore) {
	ctx := context.Background()
	key := func(b byte) []byte { return bytes.Repeat([]byte{b}, datakeys.KeySize) }
	user := func(t *testing.T, s KeyStore, name string) (domain.User, string) {
		t.Helper()
		now := time.Now().UTC().Truncate(time.Millisecond)
		u := domain.User{ID: domain.UserID(domain.NewID(now)), Name: name, CreatedAt: now}
		tok := commands.NewToken()
		if err := s.CreateUser(ctx, u, nil, session(u, tok)); err != nil {
			t.Fatal(err)
		}
		return u, tok
	}

	t.Run("FirstKeyWins", func(t *testing.T) {
		s := newStore(t)
		alice, _ := user(t, s, "alice")
		bob, _ := user(t, s, "bob")
		if got, err := s.DataKey(ctx, alice.ID, bob.ID, key(1)); err != nil || !bytes.Equal(got, key(1)) {
			t.Fatalf("first DataKey: %x, %v", got, err)
		}
		if got, err := s.DataKey(ctx, alice.ID, bob.ID, key(2)); err != nil || !bytes.Equal(got, key(1)) {
			t.Fatalf("second DataKey: %x, %v; want the first key", got, err)
		}
		if got, err := s.LookupKey(ctx, alice.ID, bob.ID); err != nil || !bytes.Equal(got, key(1)) {
			t.Fatalf("LookupKey: %x, %v", got, err)
		}
		// Each direction of a conversation has its own key.
		if _, err := s.LookupKey(ctx, bob.ID, alice.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("LookupKey of bob's key that was never made: %v", err)
		}
	})

	t.Run("ConcurrentCallersAgree", func(t *testing.T) {
		s := newStore(t)
		alice, _ := user(t, s, "alice")
		bob, _ := user(t, s, "bob")
		const n = 8
		got := make([][]byte, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i], errs[i] = s.DataKey(ctx, alice.ID, bob.ID, key(byte(10+i))) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || !bytes.Equal(got[i], got[0]) {
				t.Fatalf("caller %d: %x, %v; caller 0 got %x", i, got[i], errs[i], got[0])
			}
		}
	})

	t.Run("NoKeyForAStranger", func(t *testing.T) {
		s := newStore(t)
		bob, _ := user(t, s, "bob")
		ghost := domain.UserID(domain.NewID(time.Now()))
		if _, err := s.DataKey(ctx, ghost, bob.ID, key(1)); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("DataKey of a user that does not exist: %v, want ErrNotFound", err)
		}
	})

	t.Run("DeleteUserErasesItsKeysOnly", func(t *testing.T) {
		s := newStore(t)
		alice, tok := user(t, s, "alice")
		bob, _ := user(t, s, "bob")
		carol, _ := user(t, s, "carol")
		for _, p := range []struct{ a, b domain.UserID }{{alice.ID, bob.ID}, {alice.ID, carol.ID}, {bob.ID, alice.ID}} {
			if _, err := s.DataKey(ctx, p.a, p.b, key(7)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteUser(ctx, alice.ID); err != nil {
			t.Fatal(err)
		}
		for _, peer := range []domain.UserID{bob.ID, carol.ID} {
			if _, err := s.LookupKey(ctx, alice.ID, peer); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("alice's key for %s after her account was deleted: %v", peer, err)
			}
		}
		if _, err := s.DataKey(ctx, alice.ID, bob.ID, key(8)); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("DataKey of a deleted user: %v, want ErrNotFound", err)
		}
		if got, err := s.LookupKey(ctx, bob.ID, alice.ID); err != nil || !bytes.Equal(got, key(7)) {
			t.Fatalf("bob's own key to alice: %x, %v; want it kept", got, err)
		}
		if _, err := s.User(ctx, alice.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("User after DeleteUser: %v", err)
		}
		if _, _, err := s.UserByToken(ctx, commands.HashToken(tok)); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("UserByToken of the deleted user's session: %v", err)
		}
		if _, err := s.UserByName(ctx, "alice"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("UserByName after DeleteUser: %v", err)
		}
		if err := s.DeleteUser(ctx, alice.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("second DeleteUser: %v, want ErrNotFound", err)
		}
		again, _ := user(t, s, "alice") // the name is free
		if again.ID == alice.ID {
			t.Fatal("same id")
		}
	})
}
