package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

func TestFreshSends(t *testing.T) {
	f := &freshSends{max: 2}
	f.clear()
	tests := []struct {
		name   string
		user   domain.UserID
		id     domain.MessageID
		at     int64
		add    bool
		isNew  bool
		floor  int64
		reason string
	}{
		{name: "first send", user: "u", id: "m1", at: 10, add: true, isNew: true},
		{name: "its copy", user: "u", id: "m1", at: 10, isNew: false, reason: "in the set"},
		{name: "the other party's copy", user: "v", id: "m1", at: 10, add: true, isNew: true},
		{name: "third fills a generation", user: "u", id: "m2", at: 20, add: true, isNew: true},
		{name: "fourth rotates: floor rises to the dropped generation's newest", user: "u", id: "m3", at: 30, add: true, isNew: true},
		{name: "fifth drops the first generation", user: "u", id: "m4", at: 40, add: true, isNew: true, floor: 10},
		{name: "a copy of a dropped one is at the floor: looked up", user: "u", id: "m1", at: 10, isNew: false, floor: 10},
		{name: "an old message never seen: looked up", user: "u", id: "m0", at: 5, isNew: false, floor: 10},
		{name: "a copy still in a generation", user: "u", id: "m3", at: 30, isNew: false, floor: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.isNew(tc.user, tc.id, tc.at); got != tc.isNew {
				t.Fatalf("isNew = %v, want %v (%s)", got, tc.isNew, tc.reason)
			}
			if tc.add {
				f.added(tc.user, tc.id, tc.at)
			}
			if f.floor != tc.floor {
				t.Fatalf("floor = %d, want %d", f.floor, tc.floor)
			}
		})
	}
}

// A store reopened over views it wrote knows the highest send time it
// applied, so a retried send's copy of a message applied before the
// restart is looked up and kept once, however the clock stands.
func TestFreshSendsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	sent := domain.MessageSent{ID: domain.MessageID(domain.NewID(time.Now())), From: "alice", To: "bob", Text: "hi",
		SentAt: time.Now().Add(time.Hour)} // a clock ahead, then set back across the restart
	apply := func(db *DB, off int64) []projections.FeedItem {
		t.Helper()
		fed, err := db.Views().ApplyBatch(ctx, projections.ChangesOf(projections.Batch{Partition: 0,
			Records: []projections.Record{{Pos: domain.Position{Offset: off}, Event: sent}}}), map[int32]int64{0: off})
		if err != nil {
			t.Fatal(err)
		}
		return fed
	}
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fed := apply(db, 0); len(fed) != 1 {
		t.Fatalf("first copy fed %d items, want 1", len(fed))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if fed := apply(db, 1); len(fed) != 0 {
		t.Fatalf("the copy after a restart fed %d items, want 0: %+v", len(fed), fed)
	}
	inbox, _, err := db.Views().Unread(ctx, "bob", projections.Page{Limit: 10})
	if err != nil || len(inbox) != 1 {
		t.Fatalf("inbox after the copy: %d messages, %v; want 1", len(inbox), err)
	}
}
