package contract

import (
	"context"
	"testing"

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
