package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

func TestShowLastSeen(t *testing.T) {
	hide, show := commands.Settings{HideLastSeen: true}, commands.Settings{}
	for _, tc := range []struct {
		name         string
		viewer, user commands.Settings
		want         bool
	}{
		{"neither hides", show, show, true},
		{"the user hides", show, hide, false},
		{"the viewer hides, so sees nobody's", hide, show, false},
		{"both hide", hide, hide, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := commands.ShowLastSeen(tc.viewer, tc.user); got != tc.want {
				t.Fatalf("ShowLastSeen = %v, want %v", got, tc.want)
			}
		})
	}
}

// fakePresence serves one stored presence for every user.
type fakePresence struct {
	online bool
	last   time.Time
}

func (fakePresence) Beat(context.Context, string, time.Time) error                   { return nil }
func (fakePresence) Online(context.Context, string, domain.UserID, time.Time) error  { return nil }
func (fakePresence) Offline(context.Context, string, domain.UserID, time.Time) error { return nil }
func (fakePresence) Sweep(context.Context, time.Time) ([]commands.Gone, error)       { return nil, nil }
func (f fakePresence) Presence(context.Context, domain.UserID, time.Time) (bool, time.Time, error) {
	return f.online, f.last, nil
}

type fakeSettings map[domain.UserID]commands.Settings

func (f fakeSettings) Settings(_ context.Context, u domain.UserID) (commands.Settings, error) {
	s, ok := f[u]
	if !ok {
		return s, domain.ErrNotFound
	}
	return s, nil
}
func (f fakeSettings) SetSettings(context.Context, domain.UserID, commands.Settings) error {
	return nil
}

type fakeUsers fakeSettings

func (f fakeUsers) User(_ context.Context, id domain.UserID) (domain.User, error) {
	if _, ok := f[id]; !ok {
		return domain.User{}, domain.ErrNotFound
	}
	return domain.User{ID: id}, nil
}

func TestPresenceQuery(t *testing.T) {
	now := time.Now()
	alice, bob, carol := domain.UserID(domain.NewID(now)), domain.UserID(domain.NewID(now)), domain.UserID(domain.NewID(now))
	nobody := domain.UserID(domain.NewID(now))
	settings := fakeSettings{alice: {}, bob: {HideLastSeen: true}, carol: {}}
	last := now.Add(-time.Hour).UTC().Truncate(time.Millisecond)
	q := &commands.PresenceQuery{Store: fakePresence{last: last}, Settings: settings, Users: fakeUsers(settings),
		Talked: func(_ context.Context, a, b domain.UserID) (bool, error) {
			return (a == alice && b == bob) || (a == bob && b == alice) || (a == alice && b == carol) || (a == carol && b == alice), nil
		}}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		viewer, user domain.UserID
		err          error
		lastShown    bool
	}{
		{"a peer who shows it", alice, carol, nil, true},
		{"a peer who hides it", alice, bob, nil, false},
		{"the hider sees nobody's", bob, alice, nil, false},
		{"oneself", carol, carol, nil, true},
		{"a stranger", bob, carol, domain.ErrNotFound, false},
		{"nobody", alice, nobody, domain.ErrNotFound, false},
		{"not an id", alice, "x", domain.ErrNotFound, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := q.Of(ctx, tc.viewer, tc.user)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("Of: %v, want %v", err, tc.err)
			}
			if err == nil && (st.User != tc.user || st.Online || st.LastSeen.IsZero() == tc.lastShown || (tc.lastShown && !st.LastSeen.Equal(last))) {
				t.Fatalf("Of = %+v, want last seen shown: %v", st, tc.lastShown)
			}
		})
	}
	for _, tc := range []struct {
		name string
		to   domain.UserID
		code domain.Code
	}{
		{"a stranger", carol, ""}, // typing may come before a first message
		{"oneself", bob, domain.CodeInvalidField},
		{"nobody", nobody, domain.CodeUnknownRecipient},
		{"not an id", "x", domain.CodeUnknownRecipient},
	} {
		t.Run("typing to "+tc.name, func(t *testing.T) {
			err := q.TypingTo(ctx, bob, tc.to)
			var de *domain.Error
			if tc.code == "" && err != nil || tc.code != "" && (!errors.As(err, &de) || de.Code != tc.code) {
				t.Fatalf("TypingTo: %v, want %q", err, tc.code)
			}
		})
	}
}
