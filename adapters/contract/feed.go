package contract

import (
	"context"
	"testing"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

func feed(t *testing.T, s projections.Store, u domain.UserID, after domain.Position, limit int) []projections.FeedItem {
	t.Helper()
	var out []projections.FeedItem
	for {
		page, err := s.Feed(context.Background(), u, after, limit)
		if err != nil {
			t.Fatalf("Feed(%s, %s): %v", u, after, err)
		}
		if len(page) > limit {
			t.Fatalf("Feed returned %d items for limit %d", len(page), limit)
		}
		out = append(out, page...)
		if len(page) < limit {
			return out
		}
		after = page[len(page)-1].Cursor
	}
}

func testFeed(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	m1, m2 := f.sent(alice, bob, "one"), f.sent(alice, bob, "two")
	readAt := f.tick()
	r1 := read(m1, readAt)
	rc := domain.MessageReceipt{ID: m1.ID, From: alice, To: bob, SentAt: m1.SentAt, Status: domain.StatusRead, At: readAt}
	log := f.log(m1, m2, r1, rc, delivered(m2, f.tick()))
	apply(t, s, log)
	bobPart, alicePart := log[0].pos.Partition, log[3].pos.Partition

	got := feed(t, s, bob, domain.Position{Partition: bobPart, Offset: -1}, 2)
	if len(got) != 3 {
		t.Fatalf("bob's feed has %d items, want message, message, read: %+v", len(got), got)
	}
	wantKinds := []projections.FeedKind{projections.FeedMessage, projections.FeedMessage, projections.FeedRead}
	for i, it := range got {
		if it.Kind != wantKinds[i] {
			t.Fatalf("item %d kind %v, want %v", i, it.Kind, wantKinds[i])
		}
		if i > 0 && it.Cursor.Offset <= got[i-1].Cursor.Offset {
			t.Fatalf("cursors do not grow: %v after %v", it.Cursor, got[i-1].Cursor)
		}
	}
	if got[0].Message.ID != m1.ID || got[0].Message.Text != "one" || got[0].Message.Status != domain.StatusRead {
		t.Fatalf("first item %+v: want m1 as it stands now (read)", got[0].Message)
	}
	if got[2].Message.ID != m1.ID || got[2].Status != domain.StatusRead || !got[2].At.Equal(readAt) {
		t.Fatalf("read item %+v", got[2])
	}

	rest := feed(t, s, bob, got[0].Cursor, 10)
	if len(rest) != 2 || rest[0].Cursor != got[1].Cursor || rest[1].Cursor != got[2].Cursor {
		t.Fatalf("resuming after the first cursor: %+v", rest)
	}
	if after := feed(t, s, bob, got[2].Cursor, 10); len(after) != 0 {
		t.Fatalf("items after the last cursor: %+v", after)
	}

	af := feed(t, s, alice, domain.Position{Partition: alicePart, Offset: -1}, 10)
	if len(af) != 1 || af[0].Kind != projections.FeedReceipt || af[0].Status != domain.StatusRead ||
		af[0].Message.ID != m1.ID || af[0].Message.To != bob || !af[0].At.Equal(readAt) {
		t.Fatalf("alice's feed: %+v", af)
	}

	apply(t, s, log)
	if again := feed(t, s, bob, domain.Position{Partition: bobPart, Offset: -1}, 10); len(again) != 3 {
		t.Fatalf("re-applying changed bob's feed to %d items", len(again))
	}
}
