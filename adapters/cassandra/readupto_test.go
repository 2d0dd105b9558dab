package cassandra_test

import (
	"slices"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/cassandra"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// TestReadMarkerDeletesCoveredRows: a read marker deletes the unread rows
// it covers, those stored before its batch and those its batch adds, so
// the queries do not read them ever after; what it does not cover stays.
func TestReadMarkerDeletesCoveredRows(t *testing.T) {
	v := emptyViews(t).(*cassandra.Views)
	ctx := t.Context()
	at := time.Date(2026, 3, 30, 23, 59, 0, 0, time.UTC) // the months change on the way
	alice, bob := domain.UserID(domain.NewID(at)), domain.UserID(domain.NewID(at.Add(time.Millisecond)))
	var sends []domain.MessageSent
	for i := range 7 {
		sentAt := at.Add(time.Duration(i) * 30 * time.Second)
		sends = append(sends, domain.MessageSent{ID: domain.MessageID(domain.NewID(sentAt)), From: alice, To: bob, Text: "m", SentAt: sentAt})
	}
	var off int64
	change := func(ev domain.Event) projections.Change {
		off++
		return projections.Change{Event: ev, User: bob, Pos: domain.Position{Partition: 1, Offset: off}}
	}
	apply := func(evs ...domain.Event) {
		t.Helper()
		var cs []projections.Change
		for _, ev := range evs {
			cs = append(cs, change(ev))
		}
		if _, err := v.ApplyBatch(ctx, cs, nil); err != nil {
			t.Fatal(err)
		}
	}
	mark := func(m domain.MessageSent) domain.ConversationRead {
		return domain.ConversationRead{ID: m.ID, From: alice, To: bob, ReadAt: at.Add(time.Hour)}
	}
	apply(sends[0], sends[1], sends[2])
	apply(sends[3], mark(sends[1]), sends[4]) // covers 0 and 1 (stored before)
	apply(sends[5], mark(sends[5]), sends[6]) // covers 2, 3, 4 (stored) and 5 (added by this batch)
	set, pending, err := v.StoredUnread(ctx, bob, alice)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{string(sends[6].ID)}
	if !slices.Equal(set, want) || !slices.Equal(pending, want) {
		t.Fatalf("stored unread rows: set %v, pending %v; want only %v", set, pending, want)
	}
	msgs, _, err := v.Unread(ctx, bob, projections.Page{Limit: 10})
	if err != nil || len(msgs) != 1 || msgs[0].ID != sends[6].ID {
		t.Fatalf("unread %v, %v; want only the last message", msgs, err)
	}
}
