package contract

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// NewViews returns an empty view store for one test.
type NewViews func(t *testing.T) projections.Store

// ViewsFeatures says what a view store guarantees where stores differ.
type ViewsFeatures struct {
	// BlindFeedWrites: the store writes feed items without reading first
	// (Cassandra), so it cannot tell an event repeated at a new position
	// (a receipt appended twice, a send appended twice without Retry)
	// from a new one, and each repeat adds a feed item; and ApplyBatch
	// returns every feed item of its changes, also those the store held
	// before. Without it, a repeat adds nothing and ApplyBatch returns only
	// the items new to the store. Either way a retried send (Retry) adds
	// no second item.
	BlindFeedWrites bool
	// ExpireFeed drops user's feed items before before, as the store's
	// retention does (Cassandra's TTL); nil skips the cases that need it.
	ExpireFeed func(t *testing.T, s projections.Store, user domain.UserID, before domain.Position)
	// Reopen returns another instance of the store s over the same data,
	// as a second process (or the same one restarted) opens it; nil skips
	// the cases that need it.
	Reopen func(t *testing.T, s projections.Store) projections.Store
}

// TestViews runs the view-store contract against the stores newStore
// makes, for a store with every guarantee (ViewsFeatures{}).
func TestViews(t *testing.T, newStore NewViews) { TestViewsWith(t, ViewsFeatures{}, newStore) }

// TestViewsWith runs the view-store contract against the stores newStore
// makes, which have the features f.
func TestViewsWith(t *testing.T, f ViewsFeatures, newStore NewViews) {
	tests := []struct {
		name string
		run  func(*testing.T, projections.Store)
	}{
		{"SentIsVisibleToBothPartiesOnly", testSentVisibility},
		{"ReadRemovesFromUnreadAndCounts", testRead},
		{"StatusNeverMovesBackwards", testStatusForwardOnly},
		{"ApplyingTwiceChangesNothing", testApplyTwice},
		{"InterleavedRecipientsConverge", testInterleaving},
		{"PagesAreCompleteAndOrdered", testPaging},
		{"ConversationsNewestFirst", testConversationOrder},
		{"AppliedPositionsKeepHighest", testPositions},
		{"ResetDropsEverything", testReset},
		{"FeedResumesAfterCursor", testFeed},
		{"PartiesAreIndependent", testPartiesAreIndependent},
		{"ReceiptAdvancesSendersCopy", testReceiptAdvancesSender},
		{"BatchMatchesPerEvent", testBatchMatchesPerEvent},
		{"BatchTwiceChangesNothing", func(t *testing.T, s projections.Store) { testBatchTwice(t, s, f) }},
		{"BatchRecordsPositions", testBatchPositions},
		{"RetriedSendIsOneMessage", func(t *testing.T, s projections.Store) { testRetriedSend(t, s, f) }},
		{"RetriedSendHasOneFeedItem", testRetriedSendFeed},
		{"LateOriginalOfRetriedSendIsACopy", func(t *testing.T, s projections.Store) { testLateOriginal(t, s, f) }},
		{"FeedKeptUntilItemsExpire", func(t *testing.T, s projections.Store) { testFeedKept(t, s, f) }},
	}
	tests = append(tests, syncCases(f)...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
	testViewsEdits(t, f, newStore) // views_edits.go
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fixture makes users and events with distinct, increasing times.
type fixture struct {
	t     *testing.T
	clock time.Time
	next  int64 // next offset per fixture (one partition per recipient)
	parts map[domain.UserID]int32
	offs  map[int32]int64
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, clock: epoch, parts: map[domain.UserID]int32{}, offs: map[int32]int64{}}
}

func (f *fixture) user() domain.UserID {
	f.clock = f.clock.Add(time.Millisecond)
	return domain.UserID(domain.NewID(f.clock))
}

func (f *fixture) tick() time.Time {
	f.clock = f.clock.Add(3 * time.Millisecond)
	return f.clock
}

func (f *fixture) sent(from, to domain.UserID, text string) domain.MessageSent {
	at := f.tick()
	return domain.MessageSent{ID: domain.MessageID(domain.NewID(at)), From: from, To: to, Text: text, SentAt: at}
}

func read(e domain.MessageSent, at time.Time) domain.MessageRead {
	return domain.MessageRead{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, ReadAt: at}
}

func delivered(e domain.MessageSent, at time.Time) domain.MessageDelivered {
	return domain.MessageDelivered{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, DeliveredAt: at}
}

// positioned is an event with the position the fixture's log gave it.
type positioned struct {
	ev  domain.Event
	pos domain.Position
}

// log assigns positions as a log partitioned by recipient would.
func (f *fixture) log(evs ...domain.Event) []positioned {
	out := make([]positioned, 0, len(evs))
	for _, ev := range evs {
		p, ok := f.parts[ev.Key()]
		if !ok {
			p = int32(len(f.parts) % 4)
			f.parts[ev.Key()] = p
		}
		out = append(out, positioned{ev, domain.Position{Partition: p, Offset: f.offs[p]}})
		f.offs[p]++
	}
	return out
}

// apply writes every party's rows of each event, then records its
// position, as the projector does.
func apply(t *testing.T, s projections.Store, evs []positioned) {
	t.Helper()
	ctx := context.Background()
	for _, pe := range evs {
		for _, u := range projections.Parties(pe.ev) {
			if err := projections.ApplyFor(ctx, s, pe.ev, u, pe.pos); err != nil {
				t.Fatalf("apply %s %s for %s: %v", pe.ev.Type(), pe.ev.Message(), u, err)
			}
		}
		if err := s.RecordPosition(ctx, pe.pos); err != nil {
			t.Fatalf("record position %s: %v", pe.pos, err)
		}
	}
}

func mustMessage(t *testing.T, s projections.Store, user domain.UserID, id domain.MessageID) domain.Message {
	t.Helper()
	m, err := s.Message(context.Background(), user, id)
	if err != nil {
		t.Fatalf("Message(%s, %s): %v", user, id, err)
	}
	return m
}

func allUnread(t *testing.T, s projections.Store, user domain.UserID, limit int) []domain.Message {
	t.Helper()
	var out []domain.Message
	var after []byte
	for i := 0; ; i++ {
		page, next, err := s.Unread(context.Background(), user, projections.Page{After: after, Limit: limit})
		if err != nil {
			t.Fatalf("Unread(%s): %v", user, err)
		}
		if len(page) > limit {
			t.Fatalf("Unread(%s) returned %d rows for limit %d", user, len(page), limit)
		}
		out = append(out, page...)
		if next == nil {
			return out
		}
		if i > 10000 {
			t.Fatal("Unread paging does not end")
		}
		after = next
	}
}

func allHistory(t *testing.T, s projections.Store, user, peer domain.UserID, limit int) []domain.Message {
	t.Helper()
	var out []domain.Message
	var after []byte
	for i := 0; ; i++ {
		page, next, err := s.History(context.Background(), user, peer, projections.Page{After: after, Limit: limit})
		if err != nil {
			t.Fatalf("History(%s, %s): %v", user, peer, err)
		}
		out = append(out, page...)
		if next == nil {
			return out
		}
		if i > 10000 {
			t.Fatal("History paging does not end")
		}
		after = next
	}
}

func allConversations(t *testing.T, s projections.Store, user domain.UserID, limit int) []projections.Conversation {
	t.Helper()
	var out []projections.Conversation
	var after []byte
	for i := 0; ; i++ {
		page, next, err := s.Conversations(context.Background(), user, projections.Page{After: after, Limit: limit})
		if err != nil {
			t.Fatalf("Conversations(%s): %v", user, err)
		}
		out = append(out, page...)
		if next == nil {
			return out
		}
		if i > 10000 {
			t.Fatal("Conversations paging does not end")
		}
		after = next
	}
}

func ids(ms []domain.Message) []domain.MessageID {
	out := make([]domain.MessageID, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func isNotFound(err error) bool { return errors.Is(err, domain.ErrNotFound) }

// Snapshot renders every view of users as comparable text, so two stores
// (or one store at two times) can be compared.
func Snapshot(t *testing.T, s projections.Store, users []domain.UserID, msgs []domain.MessageID) string {
	t.Helper()
	out := ""
	for _, u := range users {
		out += fmt.Sprintf("user %s\n unread %v\n", u, allUnread(t, s, u, 3))
		for _, c := range allConversations(t, s, u, 2) {
			out += fmt.Sprintf(" conv %s unread=%d last=%+v\n", c.Peer, c.Unread, c.Last)
			out += fmt.Sprintf("  history %v\n", allHistory(t, s, u, c.Peer, 4))
		}
		for _, id := range msgs {
			m, err := s.Message(context.Background(), u, id)
			switch {
			case err == nil:
				out += fmt.Sprintf(" msg %+v\n", m)
			case !isNotFound(err):
				t.Fatalf("Message(%s, %s): %v", u, id, err)
			}
		}
	}
	return out
}

// FullSnapshot is Snapshot plus each user's feed in the partition the
// fixture's log gave the user.
func (f *fixture) fullSnapshot(s projections.Store, users []domain.UserID, msgs []domain.MessageID) string {
	f.t.Helper()
	out := Snapshot(f.t, s, users, msgs)
	for _, u := range users {
		p, ok := f.parts[u]
		if !ok {
			continue
		}
		for _, it := range feed(f.t, s, u, domain.Position{Partition: p, Offset: -1}, 3) {
			out += fmt.Sprintf("feed %s %+v\n", u, it)
		}
	}
	return out
}

// changesOf returns the changes of evs, party by party, and the highest
// offset of each partition among them.
func changesOf(evs []positioned) ([]projections.Change, map[int32]int64) {
	var changes []projections.Change
	positions := map[int32]int64{}
	for _, pe := range evs {
		for _, u := range projections.Parties(pe.ev) {
			changes = append(changes, projections.Change{Event: pe.ev, User: u, Pos: pe.pos})
		}
		if off, ok := positions[pe.pos.Partition]; !ok || pe.pos.Offset > off {
			positions[pe.pos.Partition] = pe.pos.Offset
		}
	}
	return changes, positions
}

// applyBatch applies evs with one ApplyBatch and returns its feed items.
func applyBatch(t *testing.T, s projections.Store, evs []positioned) []projections.FeedItem {
	t.Helper()
	changes, positions := changesOf(evs)
	fed, err := s.ApplyBatch(context.Background(), changes, positions)
	if err != nil {
		t.Fatalf("ApplyBatch of %d changes: %v", len(changes), err)
	}
	return fed
}

// feedItemsOf returns the feed items that evs make, in order.
func feedItemsOf(evs []positioned) []projections.FeedItem {
	var out []projections.FeedItem
	for _, pe := range evs {
		if _, it, ok := projections.FeedItemOf(pe.ev, pe.pos); ok {
			out = append(out, it)
		}
	}
	return out
}

// sameFeedItems fails unless got and want hold the same items (cursor,
// kind, message, status), and each user's in the same order (the order
// across users is free: a store of several placements returns each
// placement's items together).
func sameFeedItems(t *testing.T, what string, got, want []projections.FeedItem) {
	t.Helper()
	type item struct {
		cursor domain.Position
		kind   projections.FeedKind
		id     domain.MessageID
		status domain.Status
	}
	byUser := func(its []projections.FeedItem) map[domain.UserID][]item {
		out := map[domain.UserID][]item{}
		for _, it := range its {
			u := it.User()
			out[u] = append(out[u], item{it.Cursor, it.Kind, it.Message.ID, it.Status})
		}
		return out
	}
	equal(t, what, byUser(got), byUser(want))
}

func reset(t *testing.T, s projections.Store) {
	t.Helper()
	if err := s.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %v\n want %v", what, got, want)
	}
}
