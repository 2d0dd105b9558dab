package contract

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

func testSentVisibility(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob, carol := f.user(), f.user(), f.user()
	m := f.sent(alice, bob, "hello bob")
	apply(t, s, f.log(m))

	for _, u := range []domain.UserID{alice, bob} {
		got := mustMessage(t, s, u, m.ID)
		want := m.AsMessage()
		equal(t, "message seen by "+string(u), got, want)
	}
	if _, err := s.Message(context.Background(), carol, m.ID); !isNotFound(err) {
		t.Fatalf("a third user reads the message: err=%v", err)
	}
	equal(t, "bob's unread", ids(allUnread(t, s, bob, 50)), []domain.MessageID{m.ID})
	equal(t, "alice's unread", len(allUnread(t, s, alice, 50)), 0)
	equal(t, "alice's history", ids(allHistory(t, s, alice, bob, 50)), []domain.MessageID{m.ID})
	equal(t, "bob's history", ids(allHistory(t, s, bob, alice, 50)), []domain.MessageID{m.ID})
	equal(t, "carol's history with alice", len(allHistory(t, s, carol, alice, 50)), 0)

	ac := allConversations(t, s, alice, 50)
	bc := allConversations(t, s, bob, 50)
	if len(ac) != 1 || ac[0].Peer != bob || ac[0].Unread != 0 || ac[0].Last.ID != m.ID {
		t.Fatalf("alice's conversations: %+v", ac)
	}
	if len(bc) != 1 || bc[0].Peer != alice || bc[0].Unread != 1 || bc[0].Last.ID != m.ID {
		t.Fatalf("bob's conversations: %+v", bc)
	}
	equal(t, "carol's conversations", len(allConversations(t, s, carol, 50)), 0)
}

func testRead(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	m1, m2, m3 := f.sent(alice, bob, "one"), f.sent(alice, bob, "two"), f.sent(bob, alice, "three")
	at := f.tick()
	apply(t, s, f.log(m1, m2, m3, read(m1, at)))

	equal(t, "bob's unread", ids(allUnread(t, s, bob, 50)), []domain.MessageID{m2.ID})
	equal(t, "alice's unread", ids(allUnread(t, s, alice, 50)), []domain.MessageID{m3.ID})
	for _, u := range []domain.UserID{alice, bob} {
		got := mustMessage(t, s, u, m1.ID)
		if got.Status != domain.StatusRead || !got.ReadAt.Equal(at) || !got.DeliveredAt.Equal(at) {
			t.Fatalf("m1 as %s sees it: status=%v read_at=%v delivered_at=%v", u, got.Status, got.ReadAt, got.DeliveredAt)
		}
	}
	bc := allConversations(t, s, bob, 50)
	if len(bc) != 1 || bc[0].Unread != 1 || bc[0].Last.ID != m3.ID {
		t.Fatalf("bob's conversations: %+v", bc)
	}
	ac := allConversations(t, s, alice, 50)
	if len(ac) != 1 || ac[0].Unread != 1 {
		t.Fatalf("alice's conversations: %+v", ac)
	}
}

func testStatusForwardOnly(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	m := f.sent(alice, bob, "hi")
	d1, r, d2 := f.tick(), f.tick(), f.tick()
	apply(t, s, f.log(m, delivered(m, d1)))
	if got := mustMessage(t, s, alice, m.ID); got.Status != domain.StatusDelivered || !got.DeliveredAt.Equal(d1) {
		t.Fatalf("after delivered: %+v", got)
	}
	apply(t, s, f.log(read(m, r), delivered(m, d2), m))
	got := mustMessage(t, s, alice, m.ID)
	if got.Status != domain.StatusRead || !got.DeliveredAt.Equal(d1) || !got.ReadAt.Equal(r) {
		t.Fatalf("a late delivered or sent moved the status back: %+v", got)
	}
	equal(t, "bob's unread", len(allUnread(t, s, bob, 50)), 0)
	if c := allConversations(t, s, bob, 50); len(c) != 1 || c[0].Unread != 0 {
		t.Fatalf("bob's conversations: %+v", c)
	}
}

// stream makes a small conversation among four users with reads and
// deliveries, and returns it with the users and message ids.
func stream(f *fixture) ([]domain.Event, []domain.UserID, []domain.MessageID) {
	users := []domain.UserID{f.user(), f.user(), f.user(), f.user()}
	var evs []domain.Event
	var msgs []domain.MessageID
	for i := 0; i < 24; i++ {
		from, to := users[i%4], users[(i*3+1)%4]
		if from == to {
			to = users[(i+2)%4]
		}
		m := f.sent(from, to, "text "+string(rune('a'+i)))
		msgs = append(msgs, m.ID)
		evs = append(evs, m)
		switch i % 3 {
		case 0:
			evs = append(evs, delivered(m, f.tick()))
		case 1:
			evs = append(evs, delivered(m, f.tick()), read(m, f.tick()))
		}
	}
	return evs, users, msgs
}

func testApplyTwice(t *testing.T, s projections.Store) {
	f := newFixture(t)
	evs, users, msgs := stream(f)
	log := f.log(evs...)
	apply(t, s, log)
	once := Snapshot(t, s, users, msgs)
	apply(t, s, log)
	twice := Snapshot(t, s, users, msgs)
	if once != twice {
		t.Fatalf("applying the stream twice changed the views:\nonce:\n%s\ntwice:\n%s", once, twice)
	}
	// And every event applied twice in a row (a redelivery).
	s2 := s
	if err := s2.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, pe := range log {
		apply(t, s2, []positioned{pe, pe})
	}
	if got := Snapshot(t, s2, users, msgs); got != once {
		t.Fatalf("redelivering each event changed the views:\nwant:\n%s\ngot:\n%s", once, got)
	}
}

func testInterleaving(t *testing.T, s projections.Store) {
	f := newFixture(t)
	evs, users, msgs := stream(f)
	log := f.log(evs...)
	apply(t, s, log)
	want := Snapshot(t, s, users, msgs)
	if err := s.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Partitions are consumed independently: apply them one after the
	// other, last partition first. Order within each is kept.
	byPart := map[int32][]positioned{}
	for _, pe := range log {
		byPart[pe.pos.Partition] = append(byPart[pe.pos.Partition], pe)
	}
	for p := int32(3); p >= 0; p-- {
		apply(t, s, byPart[p])
	}
	if got := Snapshot(t, s, users, msgs); got != want {
		t.Fatalf("views depend on the interleaving of partitions:\nwant:\n%s\ngot:\n%s", want, got)
	}
}

func testPaging(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	var sent []domain.MessageID
	var evs []domain.Event
	for i := 0; i < 7; i++ {
		m := f.sent(alice, bob, "m")
		sent = append(sent, m.ID)
		evs = append(evs, m)
	}
	apply(t, s, f.log(evs...))
	for _, limit := range []int{1, 3, 7, 50} {
		equal(t, "unread oldest first", ids(allUnread(t, s, bob, limit)), sent)
		rev := make([]domain.MessageID, len(sent))
		for i, id := range sent {
			rev[len(sent)-1-i] = id
		}
		equal(t, "history newest first", ids(allHistory(t, s, alice, bob, limit)), rev)
	}
	page, next, err := s.Unread(context.Background(), bob, projections.Page{Limit: 7})
	if err != nil || len(page) != 7 || next != nil {
		t.Fatalf("an exact last page: %d rows, next=%q, err=%v", len(page), next, err)
	}
	t.Run("CursorsBelongToTheirListing", func(t *testing.T) { testCursorScope(t, s) })
}

// testCursorScope: a cursor pages only the listing that gave it out (the
// same kind, user and peer); on any other it is invalid_cursor, as are
// cursors of the layouts stores used before cursors named their listing.
func testCursorScope(t *testing.T, s projections.Store) {
	ctx := context.Background()
	f := newFixture(t)
	alice, bob, carol := f.user(), f.user(), f.user()
	var evs []domain.Event
	var fromAlice []domain.MessageSent
	for i := 0; i < 3; i++ {
		a, c := f.sent(alice, bob, "a"), f.sent(carol, bob, "c")
		fromAlice = append(fromAlice, a)
		evs = append(evs, a, c, f.sent(alice, carol, "x"))
	}
	apply(t, s, f.log(evs...))
	first := projections.Page{Limit: 1}
	_, unread, err := s.Unread(ctx, bob, first)
	if err != nil || unread == nil {
		t.Fatalf("Unread(bob) first page: next=%q, err=%v", unread, err)
	}
	_, convs, err := s.Conversations(ctx, bob, first)
	if err != nil || convs == nil {
		t.Fatalf("Conversations(bob) first page: next=%q, err=%v", convs, err)
	}
	_, hist, err := s.History(ctx, bob, alice, first)
	if err != nil || hist == nil {
		t.Fatalf("History(bob, alice) first page: next=%q, err=%v", hist, err)
	}

	// Each cursor still pages its own listing.
	page, _, err := s.History(ctx, bob, alice, projections.Page{After: hist, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != fromAlice[1].ID {
		t.Fatalf("History(bob, alice) second page = %v, %v; want %s", ids(page), err, fromAlice[1].ID)
	}
	page, _, err = s.Unread(ctx, bob, projections.Page{After: unread, Limit: 1})
	if err != nil || len(page) != 1 {
		t.Fatalf("Unread(bob) second page = %v, %v; want one message", ids(page), err)
	}
	if _, _, err := s.Conversations(ctx, bob, projections.Page{After: convs, Limit: 1}); err != nil {
		t.Fatalf("Conversations(bob) second page: %v", err)
	}

	// Layouts of earlier cursors: 8 bytes of time and an id (embedded), a
	// kind byte, 8 bytes of milliseconds and a key (Cassandra).
	m := fromAlice[0]
	legacyTimeID := binary.BigEndian.AppendUint64(nil, uint64(m.SentAt.UnixNano()))
	legacyTimeID = append(legacyTimeID, m.ID...)
	legacyKind := func(kind byte) []byte {
		b := binary.BigEndian.AppendUint64([]byte{kind}, uint64(m.SentAt.UnixMilli()))
		return append(b, m.ID...)
	}
	unreadOf := func(u domain.UserID) func([]byte) error {
		return func(c []byte) error { _, _, err := s.Unread(ctx, u, projections.Page{After: c, Limit: 1}); return err }
	}
	historyOf := func(u, peer domain.UserID) func([]byte) error {
		return func(c []byte) error {
			_, _, err := s.History(ctx, u, peer, projections.Page{After: c, Limit: 1})
			return err
		}
	}
	conversationsOf := func(u domain.UserID) func([]byte) error {
		return func(c []byte) error {
			_, _, err := s.Conversations(ctx, u, projections.Page{After: c, Limit: 1})
			return err
		}
	}
	tests := []struct {
		name   string
		cursor []byte
		use    func([]byte) error
	}{
		{"unread cursor on history", unread, historyOf(bob, alice)},
		{"unread cursor on conversations", unread, conversationsOf(bob)},
		{"unread cursor of another user", unread, unreadOf(carol)},
		{"conversations cursor on unread", convs, unreadOf(bob)},
		{"conversations cursor on history", convs, historyOf(bob, alice)},
		{"conversations cursor of another user", convs, conversationsOf(alice)},
		{"history cursor on unread", hist, unreadOf(bob)},
		{"history cursor on conversations", hist, conversationsOf(bob)},
		{"history cursor on another peer's history", hist, historyOf(bob, carol)},
		{"history cursor on the peer's side", hist, historyOf(alice, bob)},
		{"legacy time-and-id cursor on unread", legacyTimeID, unreadOf(bob)},
		{"legacy time-and-id cursor on history", legacyTimeID, historyOf(bob, alice)},
		{"legacy kind cursor on unread", legacyKind('u'), unreadOf(bob)},
		{"legacy kind cursor on history", legacyKind('h'), historyOf(bob, alice)},
		{"legacy kind cursor on conversations", legacyKind('c'), conversationsOf(bob)},
		{"bytes no store made", []byte("not-a-cursor"), unreadOf(bob)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.CodeOf(tc.use(tc.cursor)); got != domain.CodeInvalidCursor {
				t.Fatalf("code %q, want %q", got, domain.CodeInvalidCursor)
			}
		})
	}
}

func testConversationOrder(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob, carol, dave := f.user(), f.user(), f.user(), f.user()
	apply(t, s, f.log(f.sent(bob, alice, "1"), f.sent(alice, carol, "2"), f.sent(dave, alice, "3")))
	peers := func() []domain.UserID {
		var out []domain.UserID
		for _, c := range allConversations(t, s, alice, 1) {
			out = append(out, c.Peer)
		}
		return out
	}
	equal(t, "conversations newest first", peers(), []domain.UserID{dave, carol, bob})
	apply(t, s, f.log(f.sent(alice, bob, "4")))
	equal(t, "after a new message to bob", peers(), []domain.UserID{bob, dave, carol})
}

func testPositions(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	m1, m2 := f.sent(alice, bob, "1"), f.sent(bob, alice, "2")
	ctx := context.Background()
	apply(t, s, []positioned{{m1, domain.Position{Partition: 2, Offset: 10}}, {m2, domain.Position{Partition: 0, Offset: 4}},
		{m1, domain.Position{Partition: 2, Offset: 7}}})
	got, err := s.AppliedPositions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "applied positions", got, map[int32]int64{0: 4, 2: 10})
}

func testReset(t *testing.T, s projections.Store) {
	f := newFixture(t)
	evs, users, msgs := stream(f)
	apply(t, s, f.log(evs...))
	if err := s.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if n := len(allUnread(t, s, u, 50)) + len(allConversations(t, s, u, 50)); n != 0 {
			t.Fatalf("%d rows left for %s after Reset", n, u)
		}
		for _, id := range msgs {
			if _, err := s.Message(context.Background(), u, id); !isNotFound(err) {
				t.Fatalf("message %s left after Reset (err=%v)", id, err)
			}
		}
	}
	pos, err := s.AppliedPositions(context.Background())
	if err != nil || len(pos) != 0 {
		t.Fatalf("positions after Reset: %v, %v", pos, err)
	}
}

// testPartiesAreIndependent checks that an Apply for one party writes that
// party's rows only, so parties may live in different stores (shards).
func testPartiesAreIndependent(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	m := f.sent(alice, bob, "hi")
	log := f.log(m, read(m, f.tick()))
	ctx := context.Background()
	for _, pe := range log {
		if err := projections.ApplyFor(ctx, s, pe.ev, bob, pe.pos); err != nil {
			t.Fatal(err)
		}
	}
	if got := mustMessage(t, s, bob, m.ID); got.Status != domain.StatusRead {
		t.Fatalf("bob's copy: %+v", got)
	}
	if _, err := s.Message(ctx, alice, m.ID); !isNotFound(err) {
		t.Fatalf("alice's copy exists though only bob's rows were applied (err=%v)", err)
	}
	if n := len(allConversations(t, s, alice, 10)) + len(allHistory(t, s, alice, bob, 10)); n != 0 {
		t.Fatalf("%d rows of alice written by bob's apply", n)
	}
	for _, pe := range log {
		if err := projections.ApplyFor(ctx, s, pe.ev, alice, pe.pos); err != nil {
			t.Fatal(err)
		}
	}
	if got := mustMessage(t, s, alice, m.ID); got.Status != domain.StatusRead {
		t.Fatalf("alice's copy after her apply: %+v", got)
	}
}

func receipt(e domain.MessageSent, s domain.Status, at time.Time) domain.MessageReceipt {
	return domain.MessageReceipt{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, Status: s, At: at}
}

// streamWithReceipts is stream with the receipt of every delivery and read
// right after it, keyed by the sender as the receipts projector appends it.
func streamWithReceipts(f *fixture) ([]domain.Event, []domain.UserID, []domain.MessageID) {
	evs, users, msgs := stream(f)
	var out []domain.Event
	for _, ev := range evs {
		out = append(out, ev)
		switch e := ev.(type) {
		case domain.MessageDelivered:
			out = append(out, domain.MessageReceipt{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt,
				Status: domain.StatusDelivered, At: e.DeliveredAt})
		case domain.MessageRead:
			out = append(out, domain.MessageReceipt{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt,
				Status: domain.StatusRead, At: e.ReadAt})
		}
	}
	return out, users, msgs
}

// applyPaths are the two ways to write changes: an Apply per change (and a
// RecordPosition per event), and one ApplyBatch.
var applyPaths = []struct {
	name  string
	apply func(t *testing.T, s projections.Store, evs []positioned)
}{
	{"PerEvent", apply},
	{"Batch", func(t *testing.T, s projections.Store, evs []positioned) { applyBatch(t, s, evs) }},
}

// applyFor applies user's changes of evs (as the store of user's shard
// sees them), through ApplyBatch or an Apply per change.
func applyFor(t *testing.T, s projections.Store, batch bool, user domain.UserID, evs ...positioned) {
	t.Helper()
	ctx := context.Background()
	var changes []projections.Change
	for _, pe := range evs {
		changes = append(changes, projections.Change{Event: pe.ev, User: user, Pos: pe.pos})
	}
	if batch {
		if _, err := s.ApplyBatch(ctx, changes, nil); err != nil {
			t.Fatalf("ApplyBatch for %s: %v", user, err)
		}
		return
	}
	for _, c := range changes {
		if err := projections.ApplyFor(ctx, s, c.Event, c.User, c.Pos); err != nil {
			t.Fatalf("apply %s for %s: %v", c.Event.Type(), user, err)
		}
	}
}

// testReceiptAdvancesSender: a receipt moves the sender's own copy of the
// message to its status, forward only, read implying delivered, even when
// the sender's rows of the MessageRead are not applied yet (they come from
// the recipient's partition).
func testReceiptAdvancesSender(t *testing.T, s projections.Store) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "PerEvent", true: "Batch"}[batch], func(t *testing.T) {
			reset(t, s)
			f := newFixture(t)
			alice, bob := f.user(), f.user()
			m1, m2 := f.sent(alice, bob, "one"), f.sent(alice, bob, "two")
			apply(t, s, f.log(m1, m2))
			d2, r1, r2, late := f.tick(), f.tick(), f.tick(), f.tick()

			applyFor(t, s, batch, alice, f.log(receipt(m1, domain.StatusRead, r1))...)
			got := mustMessage(t, s, alice, m1.ID)
			if got.Status != domain.StatusRead || !got.ReadAt.Equal(r1) || !got.DeliveredAt.Equal(r1) {
				t.Fatalf("alice's copy after a read receipt: %+v", got)
			}
			if h := allHistory(t, s, alice, bob, 10); len(h) != 2 || h[1].ID != m1.ID || h[1].Status != domain.StatusRead {
				t.Fatalf("alice's history after a read receipt: %+v", h)
			}
			if got := mustMessage(t, s, bob, m1.ID); got.Status != domain.StatusSent {
				t.Fatalf("bob's copy changed by alice's receipt: %+v", got)
			}
			applyFor(t, s, batch, alice, f.log(receipt(m1, domain.StatusDelivered, late))...)
			if got := mustMessage(t, s, alice, m1.ID); got.Status != domain.StatusRead || !got.DeliveredAt.Equal(r1) {
				t.Fatalf("a late delivered receipt moved alice's copy back: %+v", got)
			}

			applyFor(t, s, batch, alice, f.log(receipt(m2, domain.StatusDelivered, d2))...)
			if got := mustMessage(t, s, alice, m2.ID); got.Status != domain.StatusDelivered || !got.DeliveredAt.Equal(d2) {
				t.Fatalf("alice's copy after a delivered receipt: %+v", got)
			}
			applyFor(t, s, batch, alice, f.log(receipt(m2, domain.StatusRead, r2))...)
			got = mustMessage(t, s, alice, m2.ID)
			if got.Status != domain.StatusRead || !got.DeliveredAt.Equal(d2) || !got.ReadAt.Equal(r2) {
				t.Fatalf("alice's copy after delivered, then read receipts: %+v", got)
			}
			c := allConversations(t, s, alice, 10)
			if len(c) != 1 || c[0].Last.ID != m2.ID || c[0].Last.Status != domain.StatusRead {
				t.Fatalf("alice's conversations: %+v", c)
			}
		})
	}
}

// testBatchMatchesPerEvent: ApplyBatch, however the log is cut into
// batches, gives the views an Apply per change gives, and returns the feed
// items of its changes (all new to an empty store).
func testBatchMatchesPerEvent(t *testing.T, s projections.Store) {
	f := newFixture(t)
	evs, users, msgs := streamWithReceipts(f)
	log := f.log(evs...)
	apply(t, s, log)
	want := f.fullSnapshot(s, users, msgs)
	wantPos, err := s.AppliedPositions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Runs of up to 5 records of one partition, the partitions' runs
	// interleaved round robin, as the projector's consumers hand them out.
	byPart := map[int32][]positioned{}
	var parts []int32
	for _, pe := range log {
		if _, ok := byPart[pe.pos.Partition]; !ok {
			parts = append(parts, pe.pos.Partition)
		}
		byPart[pe.pos.Partition] = append(byPart[pe.pos.Partition], pe)
	}
	var runs [][]positioned
	for i := 0; len(runs) == 0 || i < len(log); i += 5 {
		for _, p := range parts {
			if i < len(byPart[p]) {
				runs = append(runs, byPart[p][i:min(i+5, len(byPart[p]))])
			}
		}
	}
	var each [][]positioned
	for _, pe := range log {
		each = append(each, []positioned{pe})
	}
	for _, tc := range []struct {
		name    string
		batches [][]positioned
	}{
		{"OneBatch", [][]positioned{log}},
		{"PartitionRuns", runs},
		{"OneEventEach", each},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reset(t, s)
			var fed, wantFed []projections.FeedItem
			for _, b := range tc.batches {
				fed = append(fed, applyBatch(t, s, b)...)
				wantFed = append(wantFed, feedItemsOf(b)...)
			}
			if got := f.fullSnapshot(s, users, msgs); got != want {
				t.Fatalf("ApplyBatch and per-event Apply differ:\nper event:\n%s\nbatch:\n%s", want, got)
			}
			sameFeedItems(t, "feed items ApplyBatch returned", fed, wantFed)
			pos, err := s.AppliedPositions(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "applied positions", pos, wantPos)
		})
	}
}

// testBatchTwice: a batch applied again changes nothing, and returns no
// feed item (every one, for a store with BlindFeedWrites).
func testBatchTwice(t *testing.T, s projections.Store, feat ViewsFeatures) {
	f := newFixture(t)
	evs, users, msgs := streamWithReceipts(f)
	log := f.log(evs...)
	first := applyBatch(t, s, log)
	sameFeedItems(t, "feed items of the first apply", first, feedItemsOf(log))
	once := f.fullSnapshot(s, users, msgs)
	second := applyBatch(t, s, log)
	if twice := f.fullSnapshot(s, users, msgs); twice != once {
		t.Fatalf("applying the batch twice changed the views:\nonce:\n%s\ntwice:\n%s", once, twice)
	}
	if feat.BlindFeedWrites {
		sameFeedItems(t, "feed items of the second apply", second, first)
	} else if len(second) != 0 {
		t.Fatalf("the second apply returned %d feed items as new, the first %+v", len(second), second[0])
	}
}

// testBatchPositions: ApplyBatch records the positions it is given (the
// highest offset of each partition wins), without changes too.
func testBatchPositions(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	m1, m2 := f.sent(alice, bob, "1"), f.sent(bob, alice, "2")
	ctx := context.Background()
	steps := []struct {
		evs       []positioned
		positions map[int32]int64
		want      map[int32]int64
	}{
		{[]positioned{{m1, domain.Position{Partition: 2, Offset: 10}}, {m2, domain.Position{Partition: 0, Offset: 4}}},
			map[int32]int64{2: 10, 0: 4}, map[int32]int64{0: 4, 2: 10}},
		{[]positioned{{m1, domain.Position{Partition: 2, Offset: 7}}},
			map[int32]int64{2: 7, 1: 3}, map[int32]int64{0: 4, 1: 3, 2: 10}},
		{nil, nil, map[int32]int64{0: 4, 1: 3, 2: 10}},
		{nil, map[int32]int64{3: 1, 0: 5}, map[int32]int64{0: 5, 1: 3, 2: 10, 3: 1}},
	}
	for i, st := range steps {
		changes, _ := changesOf(st.evs)
		if _, err := s.ApplyBatch(ctx, changes, st.positions); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got, err := s.AppliedPositions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, fmt.Sprintf("applied positions after step %d", i), got, st.want)
	}
}

// testRetriedSend: the MessageSent of a retried send appended again (with
// Retry) at a new position, before and after the message is read, and a
// receipt appended twice, leave one message in every view; the feed holds
// the message once, and the receipt once unless the store has
// BlindFeedWrites.
func testRetriedSend(t *testing.T, s projections.Store, feat ViewsFeatures) {
	for _, path := range applyPaths {
		t.Run(path.name, func(t *testing.T) {
			reset(t, s)
			f := newFixture(t)
			alice, bob := f.user(), f.user()
			m, other := f.sent(alice, bob, "hi"), f.sent(alice, bob, "second")
			again := m
			again.Retry = true // as the command appends a retry
			path.apply(t, s, f.log(m, other, again))
			equal(t, "bob's unread after a retried send", ids(allUnread(t, s, bob, 10)), []domain.MessageID{m.ID, other.ID})
			for _, u := range []domain.UserID{alice, bob} {
				equal(t, "message seen by "+string(u), mustMessage(t, s, u, m.ID), m.AsMessage())
				equal(t, "history of "+string(u), ids(allHistory(t, s, u, m.AsMessage().Peer(u), 10)), []domain.MessageID{other.ID, m.ID})
			}
			if c := allConversations(t, s, bob, 10); len(c) != 1 || c[0].Unread != 2 || c[0].Last.ID != other.ID {
				t.Fatalf("bob's conversations after a retried send: %+v", c)
			}

			readAt := f.tick()
			r := read(m, readAt)
			rc := receipt(m, domain.StatusRead, readAt)
			path.apply(t, s, f.log(r, rc, rc, again))
			equal(t, "bob's unread after the read and another retry", ids(allUnread(t, s, bob, 10)), []domain.MessageID{other.ID})
			for _, u := range []domain.UserID{alice, bob} {
				if got := mustMessage(t, s, u, m.ID); got.Status != domain.StatusRead || got.Text != m.Text {
					t.Fatalf("message seen by %s: %+v", u, got)
				}
				equal(t, "history of "+string(u), ids(allHistory(t, s, u, m.AsMessage().Peer(u), 10)), []domain.MessageID{other.ID, m.ID})
			}
			if c := allConversations(t, s, bob, 10); len(c) != 1 || c[0].Unread != 1 {
				t.Fatalf("bob's conversations: %+v", c)
			}

			copies, receipts := 1, 1
			if feat.BlindFeedWrites {
				receipts = 2 // the receipt was appended twice
			}
			count := func(items []projections.FeedItem, kind projections.FeedKind, id domain.MessageID) int {
				n := 0
				for _, it := range items {
					if it.Kind == kind && it.Message.ID == id {
						n++
					}
				}
				return n
			}
			bf := feed(t, s, bob, domain.Position{Partition: f.parts[bob], Offset: -1}, 10)
			if n := count(bf, projections.FeedMessage, m.ID); n != copies {
				t.Fatalf("bob's feed holds the message %d times; want %d: %+v", n, copies, bf)
			}
			if n := count(bf, projections.FeedMessage, other.ID) + count(bf, projections.FeedRead, m.ID); n != 2 {
				t.Fatalf("bob's feed: %+v", bf)
			}
			af := feed(t, s, alice, domain.Position{Partition: f.parts[alice], Offset: -1}, 10)
			if n := count(af, projections.FeedReceipt, m.ID); n != receipts {
				t.Fatalf("alice's feed holds the receipt %d times; want %d: %+v", n, receipts, af)
			}
		})
	}
}
