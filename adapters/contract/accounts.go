package contract

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// TestAccounts runs the accounts contract against the stores newAccounts
// makes. Each call must return an empty store.
func TestAccounts(t *testing.T, newAccounts func(t *testing.T) commands.Accounts) {
	ctx := context.Background()
	newUser := func(name string) (domain.User, string) {
		now := time.Now().UTC().Truncate(time.Millisecond)
		return domain.User{ID: domain.UserID(domain.NewID(now)), Name: name, CreatedAt: now}, commands.NewToken()
	}
	testSessions(t, newAccounts)
	t.Run("CreateThenFindByIDAndToken", func(t *testing.T) {
		a := newAccounts(t)
		u, tok := newUser("alice")
		if err := a.CreateUser(ctx, u, nil, session(u, tok)); err != nil {
			t.Fatal(err)
		}
		got, err := a.User(ctx, u.ID)
		if err != nil || got.ID != u.ID || got.Name != u.Name || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("User: %+v, %v; want %+v", got, err, u)
		}
		got, _, err = a.UserByToken(ctx, commands.HashToken(tok))
		if err != nil || got.ID != u.ID {
			t.Fatalf("UserByToken: %+v, %v", got, err)
		}
		got, err = a.UserByName(ctx, "alice")
		if err != nil || got.ID != u.ID || got.Name != "alice" {
			t.Fatalf("UserByName: %+v, %v", got, err)
		}
	})
	t.Run("UnknownIsNotFound", func(t *testing.T) {
		a := newAccounts(t)
		if _, err := a.User(ctx, domain.UserID(domain.NewID(time.Now()))); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("User of unknown id: %v", err)
		}
		if _, _, err := a.UserByToken(ctx, commands.HashToken(commands.NewToken())); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("UserByToken of unknown token: %v", err)
		}
		if _, err := a.UserByName(ctx, "nobody"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("UserByName of unknown name: %v", err)
		}
		// Any string a client sends as a name (POST /sessions takes it as
		// it comes) names nobody unless a user has it: also a NUL, which
		// PostgreSQL's text cannot hold (a 500 before), and what breaks
		// the naming rule.
		for _, name := range []string{"", "a\x00b", "\x00", "Alice", "älice", " alice", strings.Repeat("a", 1000)} {
			if _, err := a.UserByName(ctx, name); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("UserByName(%q): %v, want not found", name, err)
			}
		}
	})
	t.Run("NamesAreUnique", func(t *testing.T) {
		a := newAccounts(t)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, tok := newUser("bob")
				errs[i] = a.CreateUser(ctx, u, nil, session(u, tok))
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, commands.ErrNameTaken):
				t.Fatalf("CreateUser: %v, want ErrNameTaken", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of %d concurrent creations of one name succeeded", ok, n)
		}
	})
}

// TestSendLog runs the send-log contract against the stores newLog makes.
func TestSendLog(t *testing.T, newLog func(t *testing.T) commands.SendLog) {
	ctx := context.Background()
	record := func(from domain.UserID, cmid string) commands.SendRecord {
		now := time.Now().UTC().Truncate(time.Millisecond)
		return commands.SendRecord{From: from, ClientMsgID: cmid, ID: domain.MessageID(domain.NewID(now)),
			To: domain.UserID(domain.NewID(now)), SentAt: now, Digest: [32]byte{1, 2, 3}}
	}
	t.Run("FirstReservationWins", func(t *testing.T) {
		l := newLog(t)
		alice := domain.UserID(domain.NewID(time.Now()))
		first := record(alice, "c-1")
		got, created, err := l.Reserve(ctx, first)
		if err != nil || !created || got.ID != first.ID {
			t.Fatalf("first Reserve: %+v created=%v err=%v", got, created, err)
		}
		second := record(alice, "c-1")
		second.Digest = [32]byte{9}
		got, created, err = l.Reserve(ctx, second)
		if err != nil || created {
			t.Fatalf("second Reserve: created=%v err=%v", created, err)
		}
		if got.ID != first.ID || got.To != first.To || !got.SentAt.Equal(first.SentAt) || got.Digest != first.Digest {
			t.Fatalf("second Reserve returned %+v, want the first record %+v", got, first)
		}
	})
	t.Run("KeysAreSenderScoped", func(t *testing.T) {
		l := newLog(t)
		a, b := record(domain.UserID(domain.NewID(time.Now())), "same"), record(domain.UserID(domain.NewID(time.Now())), "same")
		for _, r := range []commands.SendRecord{a, b} {
			if _, created, err := l.Reserve(ctx, r); err != nil || !created {
				t.Fatalf("Reserve %s: created=%v err=%v", r.From, created, err)
			}
		}
	})
	t.Run("PruneDropsOnlyOldRecords", func(t *testing.T) {
		l := newLog(t)
		alice := domain.UserID(domain.NewID(time.Now()))
		if _, err := l.Prune(ctx, 0); err == nil {
			t.Fatal("Prune with no retention: nil error")
		}
		old := record(alice, "old")
		if _, created, err := l.Reserve(ctx, old); err != nil || !created {
			t.Fatalf("Reserve: created=%v err=%v", created, err)
		}
		if n, err := l.Prune(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("Prune(1h) of a new record: %d, %v; want nothing deleted", n, err)
		}
		if _, created, _ := l.Reserve(ctx, record(alice, "old")); created {
			t.Fatal("a record young enough to keep was pruned")
		}
		// Once the store's clock has moved a millisecond past the record,
		// a retention of a millisecond prunes it.
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, err := l.Prune(ctx, time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if n == 1 {
				break
			}
			if n != 0 || time.Now().After(deadline) {
				t.Fatalf("Prune(1ms) deleted %d records, want 1", n)
			}
		}
		again := record(alice, "old")
		got, created, err := l.Reserve(ctx, again)
		if err != nil || !created || got.ID != again.ID {
			t.Fatalf("Reserve of a pruned key: %+v created=%v err=%v; want a new record", got, created, err)
		}
	})
	t.Run("ConcurrentReservationsAgree", func(t *testing.T) {
		l := newLog(t)
		alice := domain.UserID(domain.NewID(time.Now()))
		const n = 8
		var wg sync.WaitGroup
		got := make([]commands.SendRecord, n)
		created := make([]bool, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				got[i], created[i], err = l.Reserve(ctx, record(alice, "race"))
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		wins := 0
		for i := range n {
			if created[i] {
				wins++
			}
			if got[i].ID != got[0].ID {
				t.Fatalf("reservations disagree: %s vs %s", got[i].ID, got[0].ID)
			}
		}
		if wins != 1 {
			t.Fatalf("%d reservations created a record, want 1", wins)
		}
	})
}
