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

func feedKept(t *testing.T, s projections.Store, u domain.UserID, after domain.Position) bool {
	t.Helper()
	kept, err := s.FeedKept(context.Background(), u, after)
	if err != nil {
		t.Fatalf("FeedKept(%s, %s): %v", u, after, err)
	}
	return kept
}

// testFeedKept: a feed that never lost an item is kept after every cursor
// (also one before its first item, and for a user with no items); once
// its oldest items are gone, a cursor before the oldest item left is not
// kept (a resume from it must start over), one at or after it still is.
func testFeedKept(t *testing.T, s projections.Store, feat ViewsFeatures) {
	f := newFixture(t)
	alice, bob, carol := f.user(), f.user(), f.user()
	log := f.log(f.sent(alice, bob, "one"), f.sent(alice, bob, "two"), f.sent(alice, bob, "three"), f.sent(alice, carol, "other"))
	applyBatch(t, s, log)
	part := log[0].pos.Partition
	at := func(off int64) domain.Position { return domain.Position{Partition: part, Offset: off} }
	start := at(-1)

	for _, after := range []domain.Position{start, log[0].pos, log[1].pos, log[2].pos, at(log[2].pos.Offset + 5)} {
		if !feedKept(t, s, bob, after) {
			t.Fatalf("bob's feed after %s: not kept, though nothing was dropped", after)
		}
	}
	dave := f.user()
	if !feedKept(t, s, dave, start) {
		t.Fatal("the feed of a user with no items: not kept")
	}
	if feat.ExpireFeed == nil {
		return
	}

	feat.ExpireFeed(t, s, bob, log[1].pos)
	if got := feed(t, s, bob, start, 10); len(got) != 2 || got[0].Cursor != log[1].pos {
		t.Fatalf("bob's feed after the first item expired: %+v", got)
	}
	for _, after := range []domain.Position{start, log[0].pos} {
		if feedKept(t, s, bob, after) {
			t.Fatalf("bob's feed after %s: kept, though an item after it expired", after)
		}
	}
	for _, after := range []domain.Position{log[1].pos, log[2].pos} {
		if !feedKept(t, s, bob, after) {
			t.Fatalf("bob's feed after %s: not kept, though every item after it is there", after)
		}
	}

	feat.ExpireFeed(t, s, bob, at(log[2].pos.Offset+1))
	if feedKept(t, s, bob, log[1].pos) {
		t.Fatal("bob's feed after its second item: kept, though every item expired")
	}
	if !feedKept(t, s, carol, domain.Position{Partition: log[3].pos.Partition, Offset: -1}) {
		t.Fatal("carol's feed: not kept after bob's items expired")
	}
}
