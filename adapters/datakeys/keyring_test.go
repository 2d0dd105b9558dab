package datakeys_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/datakeys"
	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// env is a keyring over a real (in-memory) embedded accounts store with
// two users.
type env struct {
	store      *embedded.Accounts
	keys       *datakeys.Keyring
	alice, bob domain.UserID
}

func newEnv(t testing.TB, cfg datakeys.Config) env {
	t.Helper()
	db, err := embedded.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e := env{store: db.Accounts()}
	for i, name := range []string{"alice", "bob"} {
		now := time.Now().UTC()
		u := domain.User{ID: domain.UserID(domain.NewID(now)), Name: name, CreatedAt: now}
		if err := e.store.CreateUser(context.Background(), u, nil, commands.Session{Token: commands.HashToken(commands.NewToken()),
			User: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			e.alice = u.ID
		} else {
			e.bob = u.ID
		}
	}
	if e.keys, err = datakeys.New(e.store, cfg, nil); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e env) message(t testing.TB, text string) domain.Message {
	t.Helper()
	now := time.Now().UTC()
	m := domain.Message{ID: domain.MessageID(domain.NewID(now)), From: e.alice, To: e.bob, SentAt: now, Status: domain.StatusSent}
	sealed, err := e.keys.Seal(context.Background(), m.From, m.To, m.ID, text)
	if err != nil {
		t.Fatal(err)
	}
	m.Text = sealed
	return m
}

func TestSealThenOpen(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, datakeys.Config{})
	const text = "meet at noon 👋"
	m := e.message(t, text)
	if strings.Contains(m.Text, "noon") || !datakeys.Sealed(m.Text) {
		t.Fatalf("sealed text %q shows the text or lacks the mark", m.Text)
	}
	if again := e.message(t, text); again.Text == m.Text {
		t.Fatal("two seals of one text are equal: the nonce is not fresh")
	}
	got, err := e.keys.Open(ctx, m)
	if err != nil || got.Text != text || got.Erased {
		t.Fatalf("Open: %+v, %v", got, err)
	}
	plain := domain.Message{ID: m.ID, From: m.From, To: m.To, Text: "stored before sealing existed"}
	if got, err := e.keys.Open(ctx, plain); err != nil || got != plain {
		t.Fatalf("Open of unsealed text: %+v, %v", got, err)
	}
}

func TestOpenErasesWhatDoesNotOpen(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, datakeys.Config{})
	m := e.message(t, "bound to its message")
	tests := []struct {
		name   string
		change func(m domain.Message) domain.Message
	}{
		{"another message's id", func(m domain.Message) domain.Message {
			m.ID = domain.MessageID(domain.NewID(time.Now()))
			return m
		}},
		{"another author's key", func(m domain.Message) domain.Message { m.From, m.To = m.To, m.From; return m }},
		{"a flipped byte", func(m domain.Message) domain.Message {
			b := []byte(m.Text)
			b[len(b)-3] ^= 1
			m.Text = string(b)
			return m
		}},
		{"not base64", func(m domain.Message) domain.Message { m.Text = m.Text[:5] + "!!!"; return m }},
		{"an unknown format", func(m domain.Message) domain.Message { m.Text = "\uffff9abc"; return m }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.keys.Open(ctx, tc.change(m))
			if err != nil || got.Text != "" || !got.Erased {
				t.Fatalf("Open: %+v, %v; want erased", got, err)
			}
		})
	}
}

// TestDeletedAccountsTextIsErased: once the account is deleted, the
// process that deleted it opens none of its text at once; another process
// keeps its cached key until CacheFor passes; the peer's own text stays.
func TestDeletedAccountsTextIsErased(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, datakeys.Config{CacheFor: time.Hour})
	m := e.message(t, "alice's words")
	reply, err := e.keys.Seal(ctx, e.bob, e.alice, "01KDZZZZZZZZZZZZZZZZZZZZZZ", "bob's words")
	if err != nil {
		t.Fatal(err)
	}
	other, err := datakeys.New(e.store, datakeys.Config{CacheFor: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := other.Open(ctx, m); got.Text != "alice's words" {
		t.Fatalf("other process before the deletion: %+v", got)
	}
	if err := e.store.DeleteUser(ctx, e.alice); err != nil {
		t.Fatal(err)
	}
	e.keys.Forget(e.alice)
	if got, err := e.keys.Open(ctx, m); err != nil || !got.Erased || got.Text != "" {
		t.Fatalf("this process after the deletion: %+v, %v", got, err)
	}
	if _, err := e.keys.Seal(ctx, e.alice, e.bob, m.ID, "more"); err == nil {
		t.Fatal("Seal for a deleted author made a key")
	}
	bobs := domain.Message{ID: "01KDZZZZZZZZZZZZZZZZZZZZZZ", From: e.bob, To: e.alice, Text: reply}
	if got, err := e.keys.Open(ctx, bobs); err != nil || got.Text != "bob's words" {
		t.Fatalf("bob's own message after alice left: %+v, %v", got, err)
	}
	// The other process still holds the key it cached (bounded by
	// CacheFor; a fresh keyring asks the store and finds nothing).
	fresh, err := datakeys.New(e.store, datakeys.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fresh.Open(ctx, m); err != nil || !got.Erased {
		t.Fatalf("a new process after the deletion: %+v, %v", got, err)
	}
}
