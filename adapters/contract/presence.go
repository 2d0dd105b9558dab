package contract

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/ws"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// PresenceOpener opens a presence store over the same data each call,
// closing the one opened before (a restart): last-seen times must survive
// it. With it comes the accounts store of the same data, where the users
// live (presence is kept only for users that exist). Each call of the
// constructor given to TestPresence starts from empty data.
type PresenceOpener func() (commands.PresenceStore, commands.Accounts)

// TestPresence runs the presence-store contract against the stores
// newStore makes.
func TestPresence(t *testing.T, newStore func(t *testing.T) PresenceOpener) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var n int
	newUser := func(t *testing.T, a commands.Accounts) domain.UserID {
		t.Helper()
		now := time.Now().UTC().Truncate(time.Millisecond)
		n++
		u := domain.User{ID: domain.UserID(domain.NewID(now)), Name: fmt.Sprintf("p%d", n), CreatedAt: now}
		if err := a.CreateUser(ctx, u, nil, session(u, commands.NewToken())); err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	check := func(t *testing.T, s commands.PresenceStore, u domain.UserID, now time.Time, wantOnline bool, wantLast time.Time) {
		t.Helper()
		online, last, err := s.Presence(ctx, u, now)
		if err != nil || online != wantOnline || !last.Equal(wantLast) {
			t.Fatalf("Presence at %s: online=%v last=%s err=%v; want online=%v last=%s", now.Format(time.TimeOnly), online, last, err, wantOnline, wantLast)
		}
	}
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Run("NeverSeen", func(t *testing.T) {
		s, a := newStore(t)()
		check(t, s, newUser(t, a), t0, false, time.Time{})
	})
	t.Run("OnlineThenOfflineWithLastSeen", func(t *testing.T) {
		s, a := newStore(t)()
		u := newUser(t, a)
		must(t, s.Beat(ctx, "n1", t0))
		must(t, s.Online(ctx, "n1", u, t0.Add(time.Second)))
		check(t, s, u, t0.Add(2*time.Second), true, t0.Add(time.Second))
		must(t, s.Offline(ctx, "n1", u, t0.Add(5*time.Second)))
		check(t, s, u, t0.Add(6*time.Second), false, t0.Add(5*time.Second))
		// Idempotent, and a last seen never moves back.
		must(t, s.Offline(ctx, "n1", u, t0.Add(3*time.Second)))
		check(t, s, u, t0.Add(6*time.Second), false, t0.Add(5*time.Second))
	})
	t.Run("OnlineWhileAnyNodeHoldsAConnection", func(t *testing.T) {
		s, a := newStore(t)()
		u := newUser(t, a)
		for _, n := range []string{"n1", "n2"} {
			must(t, s.Beat(ctx, n, t0))
			must(t, s.Online(ctx, n, u, t0))
		}
		must(t, s.Online(ctx, "n1", u, t0)) // twice: idempotent
		must(t, s.Offline(ctx, "n1", u, t0.Add(time.Second)))
		check(t, s, u, t0.Add(2*time.Second), true, t0.Add(time.Second))
		must(t, s.Offline(ctx, "n2", u, t0.Add(3*time.Second)))
		check(t, s, u, t0.Add(4*time.Second), false, t0.Add(3*time.Second))
	})
	t.Run("DeadNodeCountsAsOffline", func(t *testing.T) {
		s, a := newStore(t)()
		u := newUser(t, a)
		must(t, s.Beat(ctx, "n1", t0))
		must(t, s.Online(ctx, "n1", u, t0))
		must(t, s.Beat(ctx, "n1", t0.Add(10*time.Second)))
		must(t, s.Beat(ctx, "n1", t0.Add(5*time.Second))) // an older beat changes nothing
		check(t, s, u, t0.Add(10*time.Second+commands.PresenceNodeTTL-time.Millisecond), true, t0)
		// The node stopped beating: offline, last seen at its last beat.
		check(t, s, u, t0.Add(10*time.Second+commands.PresenceNodeTTL), false, t0.Add(10*time.Second))
		// A connection on a node that never beat does not count either.
		v := newUser(t, a)
		must(t, s.Online(ctx, "ghost", v, t0))
		check(t, s, v, t0.Add(time.Second), false, t0)
	})
	t.Run("LastSeenSurvivesRestart", func(t *testing.T) {
		open := newStore(t)
		s, a := open()
		u := newUser(t, a)
		must(t, s.Beat(ctx, "n1", t0))
		must(t, s.Online(ctx, "n1", u, t0))
		must(t, s.Offline(ctx, "n1", u, t0.Add(90*time.Second+123*time.Millisecond)))
		s, _ = open()
		check(t, s, u, t0.Add(100*time.Second), false, t0.Add(90*time.Second+123*time.Millisecond))
	})
	t.Run("SweepTellsEachDeathOnce", func(t *testing.T) {
		s, a := newStore(t)()
		u, v, w := newUser(t, a), newUser(t, a), newUser(t, a)
		for _, n := range []string{"n1", "n2"} {
			must(t, s.Beat(ctx, n, t0))
		}
		must(t, s.Online(ctx, "n1", u, t0))                          // only on n1
		must(t, s.Online(ctx, "n1", v, t0))                          // on n1 and n2
		must(t, s.Online(ctx, "n2", v, t0))                          //
		must(t, s.Online(ctx, "n2", w, t0))                          // only on n2
		must(t, s.Beat(ctx, "n2", t0.Add(commands.PresenceNodeTTL))) // n2 lives on
		if gone, err := s.Sweep(ctx, t0.Add(commands.PresenceNodeTTL-time.Millisecond)); err != nil || len(gone) != 0 {
			t.Fatalf("Sweep before n1 died: %v, %v; want none", gone, err)
		}
		at := t0.Add(commands.PresenceNodeTTL)
		gone, err := s.Sweep(ctx, at)
		if err != nil || len(gone) != 1 || gone[0].User != u || !gone[0].LastSeen.Equal(t0) {
			t.Fatalf("Sweep after n1 died: %+v, %v; want only %s, last seen at n1's last beat", gone, err, u)
		}
		if gone, err := s.Sweep(ctx, at.Add(time.Second)); err != nil || len(gone) != 0 {
			t.Fatalf("second Sweep: %+v, %v; want nothing (n1's death was told)", gone, err)
		}
		check(t, s, u, at, false, t0)
		check(t, s, v, at, true, t0)
		// n1 comes back and dies again: told again.
		must(t, s.Beat(ctx, "n1", at))
		check(t, s, u, at, true, t0)
		gone, err = s.Sweep(ctx, at.Add(commands.PresenceNodeTTL+time.Second))
		if err != nil || len(gone) != 3 {
			t.Fatalf("Sweep after both died: %+v, %v; want all three users", gone, err)
		}
	})
	t.Run("DeletingTheUserForgetsTheirPresence", func(t *testing.T) {
		s, a := newStore(t)()
		u := newUser(t, a)
		must(t, s.Beat(ctx, "n1", t0))
		must(t, s.Online(ctx, "n1", u, t0))
		must(t, a.DeleteUser(ctx, u))
		check(t, s, u, t0.Add(time.Second), false, time.Time{})
		// A mark on its way when the account went is not kept.
		must(t, s.Offline(ctx, "n1", u, t0.Add(2*time.Second)))
		must(t, s.Online(ctx, "n1", u, t0.Add(3*time.Second)))
		check(t, s, u, t0.Add(4*time.Second), false, time.Time{})
	})
	t.Run("UsersAreApart", func(t *testing.T) {
		s, a := newStore(t)()
		u, v := newUser(t, a), newUser(t, a)
		must(t, s.Beat(ctx, "n1", t0))
		must(t, s.Online(ctx, "n1", u, t0))
		check(t, s, v, t0, false, time.Time{})
	})
}

// TestSettings runs the settings contract against the accounts stores
// newAccounts makes (each empty); they must implement
// commands.SettingsStore.
func TestSettings(t *testing.T, newAccounts func(t *testing.T) commands.Accounts) {
	ctx := context.Background()
	t.Run("DefaultsThenSetAndKept", func(t *testing.T) {
		a := newAccounts(t)
		s := a.(commands.SettingsStore)
		now := time.Now().UTC().Truncate(time.Millisecond)
		u := domain.User{ID: domain.UserID(domain.NewID(now)), Name: "gina", CreatedAt: now}
		if err := a.CreateUser(ctx, u, nil, session(u, commands.NewToken())); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Settings(ctx, u.ID); err != nil || got != (commands.Settings{}) {
			t.Fatalf("Settings of a new user: %+v, %v; want the zero settings", got, err)
		}
		for _, want := range []commands.Settings{{HideLastSeen: true}, {}, {HideLastSeen: true}} {
			if err := s.SetSettings(ctx, u.ID, want); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Settings(ctx, u.ID); err != nil || got != want {
				t.Fatalf("Settings after SetSettings(%+v): %+v, %v", want, got, err)
			}
		}
		if got, err := a.User(ctx, u.ID); err != nil || got.Name != "gina" {
			t.Fatalf("the user after a settings change: %+v, %v", got, err)
		}
	})
	t.Run("UnknownUserIsNotFound", func(t *testing.T) {
		s := newAccounts(t).(commands.SettingsStore)
		id := domain.UserID(domain.NewID(time.Now()))
		if _, err := s.Settings(ctx, id); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("Settings of an unknown user: %v", err)
		}
		if err := s.SetSettings(ctx, id, commands.Settings{HideLastSeen: true}); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("SetSettings of an unknown user: %v", err)
		}
	})
}

// TestRelay runs the relay contract: newRelays returns n relays that stand
// for n nodes sharing one transport (fresh for each call).
func TestRelay(t *testing.T, newRelays func(t *testing.T, n int) []ws.Relay) {
	ctx := context.Background()
	type inbox struct {
		mu  sync.Mutex
		got []string
		new chan struct{}
	}
	listen := func(t *testing.T, r ws.Relay) *inbox {
		t.Helper()
		in := &inbox{new: make(chan struct{}, 1)}
		stop, err := r.Subscribe(ctx, func(p []byte) {
			in.mu.Lock()
			in.got = append(in.got, string(p))
			in.mu.Unlock()
			select {
			case in.new <- struct{}{}:
			default:
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		return in
	}
	// await waits until in holds want, in order.
	await := func(t *testing.T, in *inbox, want []string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			in.mu.Lock()
			got := append([]string(nil), in.got...)
			in.mu.Unlock()
			if len(got) >= len(want) {
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("received %q, want %q", got, want)
				}
				return
			}
			select {
			case <-in.new:
			case <-deadline:
				t.Fatalf("received %q after 10 s, want %q", got, want)
			}
		}
	}
	t.Run("EveryNodeHearsEveryNodeInOrder", func(t *testing.T) {
		rs := newRelays(t, 2)
		a, b := listen(t, rs[0]), listen(t, rs[1])
		want := []string{`{"k":"t","n":1}`, `{"k":"t","n":2}`, `{"k":"p"}`}
		for _, p := range want {
			if err := rs[0].Publish(ctx, []byte(p)); err != nil {
				t.Fatal(err)
			}
		}
		await(t, a, want)
		await(t, b, want)
	})
	t.Run("LargestSignalGoesThrough", func(t *testing.T) {
		rs := newRelays(t, 2)
		b := listen(t, rs[1])
		big := make([]byte, ws.MaxSignal)
		for i := range big {
			big[i] = 'a' + byte(i%26)
		}
		if err := rs[0].Publish(ctx, big); err != nil {
			t.Fatal(err)
		}
		await(t, b, []string{string(big)})
	})
	t.Run("StoppedSubscriberHearsNothing", func(t *testing.T) {
		rs := newRelays(t, 2)
		var mu sync.Mutex
		heard := 0
		stop, err := rs[1].Subscribe(ctx, func([]byte) { mu.Lock(); heard++; mu.Unlock() })
		if err != nil {
			t.Fatal(err)
		}
		stop()
		still := listen(t, rs[1])
		if err := rs[0].Publish(ctx, []byte("x")); err != nil {
			t.Fatal(err)
		}
		await(t, still, []string{"x"}) // the other subscriber heard it, so the stopped one had its chance
		mu.Lock()
		defer mu.Unlock()
		if heard != 0 {
			t.Fatalf("a stopped subscriber heard %d signals", heard)
		}
	})
}
