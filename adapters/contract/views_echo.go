package contract

import (
	"testing"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// testEcho: the echo of a send puts the whole message in the sender's
// feed (and no one else's), whether it is applied before or after the
// send's own rows (they come from different partitions); applying it
// again at its position adds nothing; an echo appended again (a retried
// send) adds a second item only where the store writes blind.
func testEcho(t *testing.T, s projections.Store, feat ViewsFeatures) {
	for _, echoFirst := range []bool{false, true} {
		f := newFixture(t)
		alice, bob := f.user(), f.user()
		m := f.sent(alice, bob, "from my phone")
		m.ClientMsgID = "c-1"
		logged := f.log(m, domain.EchoOf(m), domain.EchoOf(m))
		sent, echo, again := logged[0], logged[1], logged[2]
		if echo.pos.Partition == sent.pos.Partition {
			t.Fatal("fixture: the echo should be in the sender's partition")
		}
		if echoFirst {
			applyBatch(t, s, []positioned{echo})
			applyBatch(t, s, []positioned{sent})
		} else {
			applyBatch(t, s, []positioned{sent, echo})
		}
		applyBatch(t, s, []positioned{echo}) // redelivered
		aliceFeed := func() []projections.FeedItem {
			return feed(t, s, alice, domain.Position{Partition: echo.pos.Partition, Offset: -1}, 10)
		}
		items := aliceFeed()
		if len(items) != 1 || items[0].Kind != projections.FeedSent || items[0].Cursor != echo.pos {
			t.Fatalf("echo first %v: alice's feed %+v, want one sent item at %s", echoFirst, items, echo.pos)
		}
		got := items[0].Message
		if got.ID != m.ID || got.Text != m.Text || got.From != alice || got.To != bob || got.ClientMsgID != "c-1" || !got.SentAt.Equal(m.SentAt) {
			t.Fatalf("echo first %v: the sent item's message %+v, want %+v", echoFirst, got, m)
		}
		if it := items[0]; it.User() != alice {
			t.Fatalf("the sent item is for %s, want alice", it.User())
		}
		// The message is alice's once, bob's once, and unread by bob only.
		equal(t, "alice's history", ids(allHistory(t, s, alice, bob, 10)), []domain.MessageID{m.ID})
		equal(t, "bob's unread", ids(allUnread(t, s, bob, 10)), []domain.MessageID{m.ID})
		equal(t, "alice's unread", len(allUnread(t, s, alice, 10)), 0)
		for _, it := range feed(t, s, bob, domain.Position{Partition: sent.pos.Partition, Offset: -1}, 10) {
			if it.Kind == projections.FeedSent {
				t.Fatalf("bob's feed holds alice's echo: %+v", it)
			}
		}
		applyBatch(t, s, []positioned{again})
		want := 1
		if feat.BlindFeedWrites {
			want = 2
		}
		if n := len(aliceFeed()); n != want {
			t.Fatalf("echo first %v: alice's feed holds %d items after a second echo, want %d", echoFirst, n, want)
		}
		reset(t, s)
	}
}
