package cassandra_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// The contract's messages all fall in one month; these tests cover what
// the month buckets add: paging across months, months emptied by reads,
// and events whose MessageSent never arrived. Each makes its own users, so
// they need no Reset.

var anyPos = domain.Position{Partition: 9, Offset: 1}

func newUser(at time.Time) domain.UserID { return domain.UserID(domain.NewID(at)) }

func sentAt(from, to domain.UserID, at time.Time) domain.MessageSent {
	return domain.MessageSent{ID: domain.MessageID(domain.NewID(at)), From: from, To: to, Text: "x", SentAt: at}
}

func readEvent(m domain.MessageSent, at time.Time) domain.MessageRead {
	return domain.MessageRead{ID: m.ID, From: m.From, To: m.To, SentAt: m.SentAt, ReadAt: at}
}

func pagedIDs(t *testing.T, limit int, get func(after []byte) ([]domain.Message, []byte, error)) []domain.MessageID {
	t.Helper()
	var out []domain.MessageID
	var after []byte
	for range 100 {
		page, next, err := get(after)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > limit {
			t.Fatalf("%d rows for limit %d", len(page), limit)
		}
		for _, m := range page {
			out = append(out, m.ID)
		}
		if next == nil {
			return out
		}
		after = next
	}
	t.Fatal("paging does not end")
	return nil
}

func TestPagingAcrossMonths(t *testing.T) {
	s := sharedViews(t)
	ctx := t.Context()
	base := time.Date(2025, 11, 30, 23, 59, 59, 999e6, time.UTC)
	alice, bob := newUser(base), newUser(base.Add(time.Millisecond))
	newYear := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	toBob := []domain.MessageSent{
		sentAt(alice, bob, base),
		sentAt(alice, bob, time.Date(2025, 12, 15, 10, 0, 0, 0, time.UTC)),
		sentAt(alice, bob, newYear),
		sentAt(alice, bob, newYear), // same millisecond, other ID
		sentAt(alice, bob, time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)),
	}
	toAlice := sentAt(bob, alice, time.Date(2025, 12, 20, 0, 0, 0, 0, time.UTC))
	all := append(slices.Clone(toBob), toAlice)
	for i := len(all) - 1; i >= 0; i-- { // newest first: order must not matter
		if err := applyAll(ctx, s, all[i], anyPos); err != nil {
			t.Fatal(err)
		}
	}
	byTime := func(ms []domain.MessageSent, newestFirst bool) []domain.MessageID {
		ms = slices.Clone(ms)
		slices.SortFunc(ms, func(a, b domain.MessageSent) int {
			if c := a.SentAt.Compare(b.SentAt); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
		var ids []domain.MessageID
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		if newestFirst {
			slices.Reverse(ids)
		}
		return ids
	}
	for _, limit := range []int{1, 2, 3, 10} {
		history := func(after []byte) ([]domain.Message, []byte, error) {
			return s.History(ctx, bob, alice, projections.Page{After: after, Limit: limit})
		}
		if got, want := pagedIDs(t, limit, history), byTime(all, true); !slices.Equal(got, want) {
			t.Fatalf("history, limit %d:\n got  %v\n want %v", limit, got, want)
		}
		unread := func(after []byte) ([]domain.Message, []byte, error) {
			return s.Unread(ctx, bob, projections.Page{After: after, Limit: limit})
		}
		if got, want := pagedIDs(t, limit, unread), byTime(toBob, false); !slices.Equal(got, want) {
			t.Fatalf("unread, limit %d:\n got  %v\n want %v", limit, got, want)
		}
	}

	// Reading all of November and one message of January leaves December,
	// the other January message and March unread.
	for _, m := range []domain.MessageSent{toBob[0], toBob[3]} {
		if err := applyAll(ctx, s, readEvent(m, m.SentAt.Add(time.Hour)), anyPos); err != nil {
			t.Fatal(err)
		}
	}
	want := byTime([]domain.MessageSent{toBob[1], toBob[2], toBob[4]}, false)
	for _, limit := range []int{1, 2, 5} {
		unread := func(after []byte) ([]domain.Message, []byte, error) {
			return s.Unread(ctx, bob, projections.Page{After: after, Limit: limit})
		}
		if got := pagedIDs(t, limit, unread); !slices.Equal(got, want) {
			t.Fatalf("unread after reads, limit %d:\n got  %v\n want %v", limit, got, want)
		}
	}
	convs, _, err := s.Conversations(ctx, bob, projections.Page{Limit: 10})
	if err != nil || len(convs) != 1 || convs[0].Unread != 3 || convs[0].Last.ID != toBob[4].ID {
		t.Fatalf("bob's conversations: %+v, %v", convs, err)
	}
}

func TestConversationsAcrossMonths(t *testing.T) {
	s := sharedViews(t)
	ctx := t.Context()
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	alice := newUser(at)
	var peers []domain.UserID // newest conversation first
	for i := range 5 {
		peer := newUser(at.Add(time.Duration(i+1) * time.Millisecond))
		m := sentAt(peer, alice, at.AddDate(0, i, 0))
		if i%2 == 1 {
			m = sentAt(alice, peer, at.AddDate(0, i, 0))
		}
		if err := applyAll(ctx, s, m, anyPos); err != nil {
			t.Fatal(err)
		}
		peers = append([]domain.UserID{peer}, peers...)
	}
	for _, limit := range []int{1, 2, 5, 6} {
		var got []domain.UserID
		var after []byte
		for range 10 {
			page, next, err := s.Conversations(ctx, alice, projections.Page{After: after, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				got = append(got, c.Peer)
			}
			if after = next; next == nil {
				break
			}
		}
		if !slices.Equal(got, peers) {
			t.Fatalf("conversations, limit %d:\n got  %v\n want %v", limit, got, peers)
		}
	}
}

func TestStatusWithoutMessageIsNotAMessage(t *testing.T) {
	s := sharedViews(t)
	ctx := t.Context()
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	alice, bob := newUser(at), newUser(at)
	m := sentAt(alice, bob, at)
	d := domain.MessageDelivered{ID: m.ID, From: m.From, To: m.To, SentAt: m.SentAt, DeliveredAt: at.Add(time.Second)}
	if err := applyAll(ctx, s, d, anyPos); err != nil {
		t.Fatal(err)
	}
	for _, u := range []domain.UserID{alice, bob} {
		if _, err := s.Message(ctx, u, m.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("Message(%s) of a message never sent: err=%v", u, err)
		}
	}
	if page, _, err := s.Unread(ctx, bob, projections.Page{Limit: 5}); err != nil || len(page) != 0 {
		t.Fatalf("unread of a message never sent: %v, %v", page, err)
	}
	if page, _, err := s.History(ctx, bob, alice, projections.Page{Limit: 5}); err != nil || len(page) != 0 {
		t.Fatalf("history of a message never sent: %v, %v", page, err)
	}
	// The MessageSent arriving later makes it whole, already delivered.
	if err := applyAll(ctx, s, m, anyPos); err != nil {
		t.Fatal(err)
	}
	got, err := s.Message(ctx, bob, m.ID)
	if err != nil || got.Status != domain.StatusDelivered || !got.DeliveredAt.Equal(d.DeliveredAt) {
		t.Fatalf("after the late MessageSent: %+v, %v", got, err)
	}
}

func TestBadInput(t *testing.T) {
	s := sharedViews(t)
	ctx := t.Context()
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	alice, bob := newUser(at), newUser(at)
	for _, id := range []domain.MessageID{"", "not-an-id", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ"} {
		if _, err := s.Message(ctx, alice, id); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("Message(%q): err=%v; want not found", id, err)
		}
	}
	if err := applyAll(ctx, s, domain.MessageSent{ID: "not-an-id", From: alice, To: bob, Text: "x", SentAt: at}, anyPos); err == nil {
		t.Error("ApplySent of a message ID without a time prefix: nil error")
	}
	noTime := domain.MessageRead{ID: domain.MessageID(domain.NewID(at)), From: alice, To: bob, ReadAt: at}
	if err := applyAll(ctx, s, noTime, anyPos); err == nil {
		t.Error("ApplyRead of an event without a send time: nil error")
	}
	_, histCursor, err := s.History(ctx, alice, bob, projections.Page{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		call func() error
		want domain.Code
	}{
		{"ZeroLimit", func() error { _, _, err := s.Unread(ctx, alice, projections.Page{}); return err }, domain.CodeInvalidLimit},
		{"GarbageCursor", func() error {
			_, _, err := s.History(ctx, alice, bob, projections.Page{After: []byte("garbage"), Limit: 1})
			return err
		}, domain.CodeInvalidCursor},
		{"CursorOfAnotherListing", func() error {
			_, _, err := s.Conversations(ctx, alice, projections.Page{After: []byte("h\x00\x00\x00\x00\x00\x00\x00\x01peer"), Limit: 1})
			return err
		}, domain.CodeInvalidCursor},
		{"NilNextIsNotAnError", func() error {
			if histCursor != nil {
				return errors.New("an empty history returned a next cursor")
			}
			return nil
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if got := domain.CodeOf(err); got != tc.want {
				t.Fatalf("err=%v (code %s); want code %s", err, got, tc.want)
			}
		})
	}
}

// applyAll writes every party's rows of ev, as the projector does.
func applyAll(ctx context.Context, s projections.Store, ev domain.Event, pos domain.Position) error {
	for _, u := range projections.Parties(ev) {
		if err := projections.ApplyFor(ctx, s, ev, u, pos); err != nil {
			return err
		}
	}
	return nil
}
