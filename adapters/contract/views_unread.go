package contract

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// syncCases are the view-store cases of keeping a user's devices in sync:
// read markers (domain.ConversationRead) and the unread counts they make,
// and the echo of a user's own sends (domain.MessageEcho).
func syncCases(feat ViewsFeatures) []struct {
	name string
	run  func(*testing.T, projections.Store)
} {
	return []struct {
		name string
		run  func(*testing.T, projections.Store)
	}{
		{"ReadUpToClearsUnreadUpToTheMarker", testReadUpTo},
		{"UnreadCountsMatchARecountFromTheLog", testUnreadRecount},
		{"EchoFeedsTheSendersDevices", func(t *testing.T, s projections.Store) { testEcho(t, s, feat) }},
	}
}

// RecountUnread counts, from events in log order, the messages each peer
// sent reader that are unread: not marked read one by one (MessageRead)
// and after the highest read marker of their conversation
// (ConversationRead). It is the definition the views must agree with,
// whatever the order or repetition of the events, so it reads them as
// sets.
func RecountUnread(events []domain.Event, reader domain.UserID) map[domain.UserID][]domain.MessageSent {
	sent := map[domain.MessageID]domain.MessageSent{}
	read := map[domain.MessageID]bool{}
	marks := map[domain.UserID]domain.MessageID{}
	for _, ev := range events {
		switch e := ev.(type) {
		case domain.MessageSent:
			if e.To == reader {
				if _, ok := sent[e.ID]; !ok {
					sent[e.ID] = e
				}
			}
		case domain.MessageRead:
			if e.To == reader {
				read[e.ID] = true
			}
		case domain.ConversationRead:
			if e.To == reader && e.ID > marks[e.From] {
				marks[e.From] = e.ID
			}
		}
	}
	out := map[domain.UserID][]domain.MessageSent{}
	for id, e := range sent {
		if !read[id] && !domain.ReadUpTo(id, marks[e.From]) {
			out[e.From] = append(out[e.From], e)
		}
	}
	for _, ms := range out {
		slices.SortFunc(ms, func(a, b domain.MessageSent) int {
			if c := a.SentAt.Compare(b.SentAt); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
	}
	return out
}

func readUpTo(e domain.MessageSent, at time.Time) domain.ConversationRead {
	return domain.ConversationRead{ID: e.ID, From: e.From, To: e.To, ReadAt: at}
}

// checkUnread fails unless reader's conversations and unread inbox say
// what RecountUnread says of evs.
func checkUnread(t *testing.T, s projections.Store, reader domain.UserID, evs []domain.Event) {
	t.Helper()
	want := RecountUnread(evs, reader)
	counts := map[domain.UserID]int{}
	for _, c := range allConversations(t, s, reader, 7) {
		if c.Unread != 0 {
			counts[c.Peer] = c.Unread
		}
	}
	wantCounts := map[domain.UserID]int{}
	var wantInbox []domain.MessageSent
	for peer, ms := range want {
		wantCounts[peer] = len(ms)
		wantInbox = append(wantInbox, ms...)
	}
	equal(t, "unread counts by peer", counts, wantCounts)
	var gotIDs, wantIDs []domain.MessageID
	for _, m := range allUnread(t, s, reader, 3) {
		gotIDs = append(gotIDs, m.ID)
	}
	for _, m := range wantInbox {
		wantIDs = append(wantIDs, m.ID)
	}
	slices.Sort(gotIDs)
	slices.Sort(wantIDs)
	equal(t, "unread inbox", gotIDs, wantIDs)
}

// testReadUpTo: a marker clears the peer's messages at or before it and
// no others; an older marker or a repeat changes nothing; a per-message
// read of a covered message is not counted twice; a message that sorts
// before the marker but arrives after it is not unread; the reader's
// devices get a feed item for each marker.
func testReadUpTo(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob, carol := f.user(), f.user(), f.user()
	early := f.tick().Add(-10 * time.Second) // a send time before every other message
	a1, a2, a3, a4 := f.sent(alice, bob, "1"), f.sent(alice, bob, "2"), f.sent(alice, bob, "3"), f.sent(alice, bob, "4")
	c1 := f.sent(carol, bob, "c1")
	own := f.sent(bob, alice, "mine")
	var evs []domain.Event
	step := func(more ...domain.Event) {
		t.Helper()
		evs = append(evs, more...)
		apply(t, s, f.log(more...))
		checkUnread(t, s, bob, evs)
	}
	step(a1, a2, a3, c1, own)
	step(read(a2, f.tick()))
	step(readUpTo(a3, f.tick())) // a1, a3 (a2 read already): alice's count 0, carol's 1
	step(readUpTo(a1, f.tick())) // older: nothing moves
	step(readUpTo(a3, f.tick())) // a repeat
	step(read(a1, f.tick()))     // covered: not counted twice
	step(a4)                     // after the marker: unread
	late := domain.MessageSent{ID: domain.MessageID(domain.NewID(early)), From: alice, To: bob, Text: "late", SentAt: early}
	step(late) // sorts before the marker, arrives after it: read
	step(readUpTo(a4, f.tick()), readUpTo(c1, f.tick()))
	if got := len(RecountUnread(evs, bob)); got != 0 {
		t.Fatalf("the recount leaves %d conversations unread, want 0", got)
	}
	// Bob's own message stays unread for alice: bob's markers are his.
	equal(t, "alice's unread", ids(allUnread(t, s, alice, 10)), []domain.MessageID{own.ID})
	var marks int
	for _, it := range feed(t, s, bob, domain.Position{Partition: f.parts[bob], Offset: -1}, 100) {
		if it.Kind == projections.FeedReadUpTo {
			marks++
			if it.Message.To != bob || it.Status != domain.StatusRead || it.At.IsZero() {
				t.Fatalf("read_up_to feed item %+v", it)
			}
		}
	}
	if marks != 5 {
		t.Fatalf("bob's feed holds %d read_up_to items, want one per marker (5)", marks)
	}
}

// testUnreadRecount applies random runs of sends, per-message reads and
// markers, in batches of random sizes, some applied twice (at-least-once
// delivery), and compares the views with a recount from the log after
// every batch.
func testUnreadRecount(t *testing.T, s projections.Store) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 12))
			f := newFixture(t)
			reader := f.user()
			peers := []domain.UserID{f.user(), f.user(), f.user()}
			var (
				received []domain.MessageSent
				evs      []domain.Event
				pending  []domain.Event
			)
			flush := func() {
				batch := f.log(pending...)
				applyBatch(t, s, batch)
				if rng.IntN(4) == 0 {
					applyBatch(t, s, batch) // redelivered
				}
				evs = append(evs, pending...)
				pending = nil
				checkUnread(t, s, reader, evs)
			}
			for range 60 {
				switch k := rng.IntN(10); {
				case k < 5 || len(received) == 0:
					peer := peers[rng.IntN(len(peers))]
					m := f.sent(peer, reader, "m")
					received = append(received, m)
					pending = append(pending, m)
					if rng.IntN(5) == 0 {
						pending = append(pending, f.sent(reader, peer, "reply"))
					}
				case k < 8:
					pending = append(pending, read(received[rng.IntN(len(received))], f.tick()))
				default:
					pending = append(pending, readUpTo(received[rng.IntN(len(received))], f.tick()))
				}
				if rng.IntN(4) == 0 {
					flush()
				}
			}
			flush()
		})
	}
}
