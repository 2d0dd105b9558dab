package contract

import (
	"context"
	"testing"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// messageItems counts the FeedMessage items of message id.
func messageItems(items []projections.FeedItem, id domain.MessageID) int {
	n := 0
	for _, it := range items {
		if it.Kind == projections.FeedMessage && it.Message.ID == id {
			n++
		}
	}
	return n
}

// retry returns e as a retried send appends it again.
func retry(e domain.MessageSent) domain.MessageSent { e.Retry = true; return e }

// testRetriedSendFeed: a retried send's copy at a new position, in a later
// batch or in the same one, adds no feed item and ApplyBatch does not
// return one, so it is pushed once; a device resuming from before the
// copy gets the message once; a retry whose first attempt never reached
// the log is the message's first copy and gets its item.
func testRetriedSendFeed(t *testing.T, s projections.Store) {
	f := newFixture(t)
	alice, bob := f.user(), f.user()

	m := f.sent(alice, bob, "first attempt answered late")
	first := f.log(m)
	if fed := applyBatch(t, s, first); messageItems(fed, m.ID) != 1 {
		t.Fatalf("ApplyBatch of the first copy returned %+v", fed)
	}
	copies := f.log(retry(m))
	if fed := applyBatch(t, s, copies); messageItems(fed, m.ID) != 0 {
		t.Fatalf("ApplyBatch of the copy at %s returned its item: %+v", copies[0].pos, fed)
	}

	n := f.sent(alice, bob, "retried within one batch")
	both := f.log(n, retry(n), retry(m))
	if fed := applyBatch(t, s, both); messageItems(fed, n.ID) != 1 || messageItems(fed, m.ID) != 0 {
		t.Fatalf("ApplyBatch of a message and its copies returned %+v", fed)
	}

	lost := f.sent(alice, bob, "first attempt never appended")
	only := f.log(retry(lost))
	if fed := applyBatch(t, s, only); messageItems(fed, lost.ID) != 1 {
		t.Fatalf("ApplyBatch of a retry that is the first copy returned %+v", fed)
	}

	part := first[0].pos.Partition
	all := feed(t, s, bob, domain.Position{Partition: part, Offset: -1}, 10)
	for _, id := range []domain.MessageID{m.ID, n.ID, lost.ID} {
		if messageItems(all, id) != 1 {
			t.Fatalf("bob's feed holds message %s %d times: %+v", id, messageItems(all, id), all)
		}
	}
	if after := feed(t, s, bob, first[0].pos, 10); messageItems(after, m.ID) != 0 {
		t.Fatalf("resuming after the first copy, before its repeats, returned it again: %+v", after)
	}
	if got := mustMessage(t, s, bob, m.ID); got.Text != m.Text || got.Status != domain.StatusSent {
		t.Fatalf("bob's copy of the message: %+v", got)
	}
}

// testLateOriginal: a send's first attempt can reach the log after its own
// retry's copy (the client gave up waiting and retried while the first
// append was still under way). That original has no Retry mark but is a
// copy all the same: it adds no feed item and ApplyBatch does not return
// one, in a later batch or in the same one. With f.Reopen, the same holds
// when another instance applied the retry, and the new one starts on the
// partition as a new consumer does (projections.StartAfter).
func testLateOriginal(t *testing.T, s projections.Store, f ViewsFeatures) {
	fx := newFixture(t)
	alice, bob := fx.user(), fx.user()

	m := fx.sent(alice, bob, "retried before its first attempt landed")
	r := fx.log(retry(m))
	if fed := applyBatch(t, s, r); messageItems(fed, m.ID) != 1 {
		t.Fatalf("ApplyBatch of the retry, the first copy, returned %+v", fed)
	}
	if fed := applyBatch(t, s, fx.log(m)); messageItems(fed, m.ID) != 0 {
		t.Fatalf("ApplyBatch of the late original returned its item: %+v", fed)
	}

	n := fx.sent(alice, bob, "retry and late original in one batch")
	if fed := applyBatch(t, s, fx.log(retry(n), n)); messageItems(fed, n.ID) != 1 {
		t.Fatalf("ApplyBatch of a retry and its late original returned %+v", fed)
	}

	want := []domain.MessageID{m.ID, n.ID}
	if f.Reopen != nil {
		k := fx.sent(alice, bob, "retry applied by another instance")
		applyBatch(t, s, fx.log(retry(k)))
		s = f.Reopen(t, s)
		late := fx.log(k)
		if _, err := projections.StartAfter(s)(context.Background(), late[0].pos.Partition); err != nil {
			t.Fatal(err)
		}
		if fed := applyBatch(t, s, late); messageItems(fed, k.ID) != 0 {
			t.Fatalf("after a handover, ApplyBatch of the late original returned its item: %+v", fed)
		}
		want = append(want, k.ID)
	}

	part := r[0].pos.Partition
	all := feed(t, s, bob, domain.Position{Partition: part, Offset: -1}, 20)
	for _, id := range want {
		if messageItems(all, id) != 1 {
			t.Fatalf("bob's feed holds message %s %d times: %+v", id, messageItems(all, id), all)
		}
	}
	if after := feed(t, s, bob, r[0].pos, 20); messageItems(after, m.ID) != 0 {
		t.Fatalf("resuming after the retry's copy, before the late original, returned it again: %+v", after)
	}
	if got := mustMessage(t, s, bob, m.ID); got.Text != m.Text || got.Status != domain.StatusSent {
		t.Fatalf("bob's copy of the message: %+v", got)
	}
}
