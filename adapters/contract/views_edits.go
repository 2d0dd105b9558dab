package contract

import (
	"context"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// testViewsEdits runs the contract of the edit and delete events (issue
// 12; rules in projections/store_edits.go) against stores newStore makes.
func testViewsEdits(t *testing.T, f ViewsFeatures, newStore NewViews) {
	tests := []struct {
		name string
		run  func(*testing.T, projections.Store)
	}{
		{"EditShowsLatestTextAndKeepsVersions", testEditVersions},
		{"StaleOrRepeatedEditChangesNothing", testEditIdempotent},
		{"DeleteLeavesTombstoneWithoutText", testDeleteTombstone},
		{"HideIsForOnePartyOnly", testHideOneParty},
		{"ReplyNamesMessageAndVersion", testReplyStored},
		{"ReactionsOnePerPartyLatestWins", testReactions},
		{"EditsReplayToTheSameViews", func(t *testing.T, s projections.Store) { testEditsReplay(t, s, f) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

func edited(e domain.MessageSent, version int, text string, at time.Time) domain.MessageEdited {
	return domain.MessageEdited{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, Version: version, Text: text, EditedAt: at}
}

func deleted(e domain.MessageSent, at time.Time) domain.MessageDeleted {
	return domain.MessageDeleted{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, DeletedAt: at}
}

func hidden(e domain.MessageSent, by domain.UserID, at time.Time) domain.MessageHidden {
	return domain.MessageHidden{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, By: by, HiddenAt: at}
}

func versions(t *testing.T, s projections.Store, user domain.UserID, id domain.MessageID) ([]domain.MessageVersion, error) {
	t.Helper()
	vr, ok := s.(projections.VersionReader)
	if !ok {
		t.Fatalf("%T does not implement projections.VersionReader", s)
	}
	return vr.Versions(context.Background(), user, id)
}

func testEditVersions(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob, carol := f.user(), f.user(), f.user()
	m := f.sent(alice, bob, "helo")
	at2, at3 := f.tick(), f.tick()
	apply(t, s, f.log(m, edited(m, 2, "hello", at2), edited(m, 3, "hello bob", at3)))
	for _, u := range []domain.UserID{alice, bob} {
		got := mustMessage(t, s, u, m.ID)
		want := m.AsMessage()
		want.Text, want.Version, want.EditedAt = "hello bob", 3, at3
		equal(t, "edited message seen by "+string(u), got, want)
		equal(t, "history of "+string(u), allHistory(t, s, u, m.AsMessage().Peer(u), 10), []domain.Message{want})
		convs := allConversations(t, s, u, 10)
		if len(convs) != 1 || convs[0].Last.Text != "hello bob" || convs[0].Last.Version != 3 {
			t.Fatalf("%s's conversations: %+v", u, convs)
		}
		vs, err := versions(t, s, u, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "versions seen by "+string(u), vs, []domain.MessageVersion{
			{Version: 1, Text: "helo", At: m.SentAt}, {Version: 2, Text: "hello", At: at2}, {Version: 3, Text: "hello bob", At: at3}})
	}
	unread := allUnread(t, s, bob, 10)
	if len(unread) != 1 || unread[0].Text != "hello bob" || unread[0].Version != 3 {
		t.Fatalf("bob's unread: %+v", unread)
	}
	if _, err := versions(t, s, carol, m.ID); !isNotFound(err) {
		t.Fatalf("a third user reads the versions: %v", err)
	}
	plain := f.sent(bob, alice, "never edited")
	apply(t, s, f.log(plain))
	vs, err := versions(t, s, alice, plain.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "versions of a message never edited", vs, []domain.MessageVersion{{Version: 1, Text: "never edited", At: plain.SentAt}})
}

func testEditIdempotent(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	m := f.sent(alice, bob, "one")
	e2, e3 := edited(m, 2, "two", f.tick()), edited(m, 3, "three", f.tick())
	late := edited(m, 2, "two, lost a race", f.tick())
	apply(t, s, f.log(m, e2, e3))
	before := Snapshot(t, s, []domain.UserID{alice, bob}, []domain.MessageID{m.ID})
	apply(t, s, f.log(e2, late, e3))
	equal(t, "views after a repeated and a stale edit", Snapshot(t, s, []domain.UserID{alice, bob}, []domain.MessageID{m.ID}), before)
	if got := mustMessage(t, s, bob, m.ID); got.Text != "three" || got.Version != 3 {
		t.Fatalf("bob sees %+v", got)
	}
	// Two edits of the same version (two commands raced): the later one
	// wins whatever the order they are applied in.
	m2 := f.sent(alice, bob, "first")
	// ("a later" sorts before "z early": Cassandra breaks a tie of write
	// timestamps by the value, so the times must decide.)
	early, later := edited(m2, 2, "z early", f.tick()), edited(m2, 2, "a later", f.tick())
	apply(t, s, f.log(m2, early, later, early))
	for _, u := range []domain.UserID{alice, bob} {
		if got := mustMessage(t, s, u, m2.ID); got.Text != "a later" || got.Version != 2 {
			t.Fatalf("%s sees %+v after a race of two edits", u, got)
		}
		vs, err := versions(t, s, u, m2.ID)
		if err != nil || len(vs) != 2 || vs[1].Text != "a later" {
			t.Fatalf("versions after a race: %+v, %v", vs, err)
		}
	}
}

func testDeleteTombstone(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	m := f.sent(alice, bob, "oops")
	keep := f.sent(alice, bob, "still here")
	delAt := f.tick()
	apply(t, s, f.log(m, edited(m, 2, "oops, secret", f.tick()), keep, deleted(m, delAt), edited(m, 3, "after the delete", f.tick())))
	for _, u := range []domain.UserID{alice, bob} {
		got := mustMessage(t, s, u, m.ID)
		want := m.AsMessage()
		want.Text, want.Deleted, want.DeletedAt = "", true, delAt
		equal(t, "tombstone seen by "+string(u), got, want)
		hist := allHistory(t, s, u, m.AsMessage().Peer(u), 10)
		if len(hist) != 2 || hist[1].ID != m.ID || !hist[1].Deleted || hist[1].Text != "" || hist[0].Text != "still here" {
			t.Fatalf("%s's history: %+v", u, hist)
		}
		vs, err := versions(t, s, u, m.ID)
		if err != nil || len(vs) != 0 {
			t.Fatalf("versions of a deleted message seen by %s: %+v, %v", u, vs, err)
		}
	}
	for _, um := range allUnread(t, s, bob, 10) {
		if um.ID == m.ID && (um.Text != "" || !um.Deleted) {
			t.Fatalf("bob's unread shows the deleted text: %+v", um)
		}
	}
}

func testHideOneParty(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	m1, m2 := f.sent(alice, bob, "first"), f.sent(alice, bob, "second")
	apply(t, s, f.log(m1, m2, hidden(m2, bob, f.tick())))
	equal(t, "bob's unread", ids(allUnread(t, s, bob, 10)), []domain.MessageID{m1.ID})
	equal(t, "bob's history", ids(allHistory(t, s, bob, alice, 10)), []domain.MessageID{m1.ID})
	bc := allConversations(t, s, bob, 10)
	if len(bc) != 1 || bc[0].Unread != 1 || bc[0].Last.ID != m1.ID {
		t.Fatalf("bob's conversations: %+v", bc)
	}
	if got := mustMessage(t, s, bob, m2.ID); !got.Hidden {
		t.Fatalf("bob's copy is not marked hidden: %+v", got)
	}
	if _, err := versions(t, s, bob, m2.ID); !isNotFound(err) {
		t.Fatalf("versions of a hidden message: %v", err)
	}
	// Alice's views are untouched.
	equal(t, "alice's history", ids(allHistory(t, s, alice, bob, 10)), []domain.MessageID{m2.ID, m1.ID})
	ac := allConversations(t, s, alice, 10)
	if len(ac) != 1 || ac[0].Last.ID != m2.ID || mustMessage(t, s, alice, m2.ID).Hidden {
		t.Fatalf("alice's conversations: %+v", ac)
	}
	// A message read after it was hidden does not count twice.
	apply(t, s, f.log(read(m2, f.tick())))
	if bc := allConversations(t, s, bob, 10); len(bc) != 1 || bc[0].Unread != 1 {
		t.Fatalf("bob's conversations after a read of the hidden message: %+v", bc)
	}
	// Hiding every message leaves the conversation out.
	apply(t, s, f.log(hidden(m1, bob, f.tick())))
	equal(t, "bob's conversations once all are hidden", len(allConversations(t, s, bob, 10)), 0)
	equal(t, "bob's unread once all are hidden", len(allUnread(t, s, bob, 10)), 0)
}

// testEditsReplay applies a stream with edits, deletes and hides, then
// again from scratch (a replay), and expects the same views and feed.
func testEditsReplay(t *testing.T, s projections.Store, feat ViewsFeatures) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	m1, m2, m3 := f.sent(alice, bob, "one"), f.sent(bob, alice, "two"), f.sent(alice, bob, "three")
	reply := f.sent(bob, alice, "re: one")
	reply.ReplyTo, reply.ReplyVersion = m1.ID, 2
	evs := f.log(m1, m2, edited(m1, 2, "one!", f.tick()), m3, read(m1, f.tick()), reply, deleted(m3, f.tick()),
		edited(m2, 2, "two!", f.tick()), reacted(m2, alice, "👍", 1, f.tick()), reacted(m2, bob, "🎉", 2, f.tick()),
		hidden(m2, alice, f.tick()), hidden(m1, bob, f.tick()))
	users, msgs := []domain.UserID{alice, bob}, []domain.MessageID{m1.ID, m2.ID, m3.ID, reply.ID}
	fed := applyBatch(t, s, evs)
	live := f.fullSnapshot(s, users, msgs)
	var want []projections.FeedItem
	for _, it := range feedItemsOf(evs) {
		want = append(want, it)
	}
	sameFeedItems(t, "feed items of the batch", fed, want)
	reset(t, s)
	apply(t, s, evs)
	equal(t, "views replayed event by event", f.fullSnapshot(s, users, msgs), live)
	if !feat.BlindFeedWrites {
		applyBatch(t, s, evs)
		equal(t, "views after the batch again", f.fullSnapshot(s, users, msgs), live)
	}
}

// testReplyStored: both parties' copies of a reply name the message and
// version it answered (the quote is resolved by projections.Quoted when
// read); a reply deleted for everyone names nothing.
func testReplyStored(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	m := f.sent(alice, bob, "question")
	r := f.sent(bob, alice, "answer")
	r.ReplyTo, r.ReplyVersion = m.ID, 2
	r2 := f.sent(bob, alice, "second answer")
	r2.ReplyTo, r2.ReplyVersion = m.ID, 1
	apply(t, s, f.log(m, edited(m, 2, "question?", f.tick()), r, r2, deleted(r2, f.tick())))
	for _, u := range []domain.UserID{alice, bob} {
		got := mustMessage(t, s, u, r.ID)
		if got.ReplyTo != m.ID || got.ReplyVersion != 2 {
			t.Fatalf("%s's copy of the reply: %+v", u, got)
		}
		hist := allHistory(t, s, u, m.AsMessage().Peer(u), 10)
		if len(hist) != 3 || hist[1].ReplyTo != m.ID || hist[0].ReplyTo != "" || !hist[0].Deleted {
			t.Fatalf("%s's history: %+v", u, hist)
		}
	}
	unread := allUnread(t, s, alice, 10)
	if len(unread) != 2 || unread[0].ReplyTo != m.ID || unread[0].ReplyVersion != 2 {
		t.Fatalf("alice's unread: %+v", unread)
	}
}

func reacted(e domain.MessageSent, by domain.UserID, emoji string, version int, at time.Time) domain.MessageReacted {
	return domain.MessageReacted{ID: e.ID, From: e.From, To: e.To, SentAt: e.SentAt, By: by, Emoji: emoji, Version: version, At: at}
}

// testReactions: one reaction per party, the latest wins also when an
// older change is applied again, an edit leaves the reaction on the
// version it answered, removal and a delete for everyone clear it.
func testReactions(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()
	m := f.sent(alice, bob, "lunch?")
	thumbs := reacted(m, bob, "👍", 1, f.tick())
	heart := reacted(m, bob, "❤️", 1, f.tick())
	laugh := reacted(m, alice, "😂", 1, f.tick())
	apply(t, s, f.log(m, thumbs, heart, laugh, edited(m, 2, "lunch at one?", f.tick()), thumbs))
	for _, u := range []domain.UserID{alice, bob} {
		got := mustMessage(t, s, u, m.ID).Reactions
		if got[0].By != alice || got[0].Emoji != "😂" || got[1].By != bob || got[1].Emoji != "❤️" || got[1].Version != 1 {
			t.Fatalf("reactions seen by %s: %+v", u, got)
		}
		if h := allHistory(t, s, u, m.AsMessage().Peer(u), 10); len(h) != 1 || h[0].Reactions != mustMessage(t, s, u, m.ID).Reactions || h[0].Version != 2 {
			t.Fatalf("%s's history: %+v", u, h)
		}
	}
	if un := allUnread(t, s, bob, 10); len(un) != 1 || un[0].Reactions[1].Emoji != "❤️" {
		t.Fatalf("bob's unread: %+v", un)
	}
	apply(t, s, f.log(reacted(m, bob, "", 2, f.tick()), reacted(m, bob, "👍", 2, f.tick())))
	if got := mustMessage(t, s, alice, m.ID).Reactions[1]; got.Emoji != "👍" || got.Version != 2 {
		t.Fatalf("bob's reaction after a removal and a new one: %+v", got)
	}
	apply(t, s, f.log(reacted(m, alice, "", 2, f.tick())))
	if got := mustMessage(t, s, bob, m.ID).Reactions[0]; got.Emoji != "" {
		t.Fatalf("alice's removed reaction: %+v", got)
	}
	apply(t, s, f.log(deleted(m, f.tick())))
	for _, u := range []domain.UserID{alice, bob} {
		if got := mustMessage(t, s, u, m.ID).Reactions; got != ([2]domain.Reaction{}) {
			t.Fatalf("a tombstone keeps reactions for %s: %+v", u, got)
		}
	}
}
