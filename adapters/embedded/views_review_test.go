package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

func applyOne(t *testing.T, v *Views, ev domain.Event, off int64) ([]projections.FeedItem, error) {
	t.Helper()
	return v.ApplyBatch(context.Background(), projections.ChangesOf(projections.Batch{Partition: 0,
		Records: []projections.Record{{Pos: domain.Position{Offset: off}, Event: ev}}}), map[int32]int64{0: off})
}

// The floor of send times is recorded by the batch that commits, even
// when the batch that first raised it failed: after a restart a retried
// send's copy is still known as a copy.
func TestFreshFloorSurvivesAFailedApply(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	alice, bob, carol := domain.UserID(domain.NewID(now)), domain.UserID(domain.NewID(now)), domain.UserID(domain.NewID(now))
	// A first message records a floor.
	first := domain.MessageSent{ID: domain.MessageID(domain.NewID(now)), From: carol, To: bob, Text: "hi", SentAt: now}
	if _, err := applyOne(t, db.Views(), first, 0); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Second)
	sent := domain.MessageSent{ID: domain.MessageID(domain.NewID(later)), From: alice, To: bob, Text: "hi", SentAt: later}
	// A corrupt conversation row of bob's fails the next apply after
	// the send's hashes and highest time were taken in.
	if err := db.db.Set(convKey(bob, alice), []byte{9, 9, 9}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := applyOne(t, db.Views(), sent, 1); err == nil {
		t.Fatal("the apply over a corrupt row succeeded")
	}
	if err := db.db.Delete(convKey(bob, alice), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if fed, err := applyOne(t, db.Views(), sent, 1); err != nil || len(fed) != 1 {
		t.Fatalf("apply after the repair: %d fed, %v", len(fed), err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	retry := sent
	retry.Retry = true
	if fed, err := applyOne(t, db.Views(), retry, 2); err != nil || len(fed) != 0 {
		t.Fatalf("the retried copy after a restart fed %d items (%v), want 0", len(fed), err)
	}
}

// A receipt met before its message is marked; when it is applied again
// after the message (a receipt re-appended after a crash), the marker
// keeps it out of the feed although the message's row has no bit for it.
func TestReceiptBeforeItsMessageIsFedOnce(t *testing.T) {
	db, err := OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v := db.Views()
	now := time.Now().UTC()
	alice, bob := domain.UserID(domain.NewID(now)), domain.UserID(domain.NewID(now))
	id := domain.MessageID(domain.NewID(now))
	receipt := domain.MessageReceipt{ID: id, From: alice, To: bob, SentAt: now, Status: domain.StatusRead, At: now}
	steps := []struct {
		name string
		ev   domain.Event
		fed  int
	}{
		{"receipt before the message", receipt, 1},
		{"the message", domain.MessageSent{ID: id, From: alice, To: bob, Text: "hi", SentAt: now}, 1}, // bob's item
		{"the receipt again", receipt, 0},
	}
	for i, st := range steps {
		fed, err := applyOne(t, v, st.ev, int64(i))
		if err != nil || len(fed) != st.fed {
			t.Fatalf("%s: fed %d items (%v), want %d", st.name, len(fed), err, st.fed)
		}
	}
}

// The same across a restart between the marker and the receipt's second
// copy: the mark floor is kept with the rows.
func TestReceiptMarkerSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	alice, bob := domain.UserID(domain.NewID(now)), domain.UserID(domain.NewID(now))
	id := domain.MessageID(domain.NewID(now))
	receipt := domain.MessageReceipt{ID: id, From: alice, To: bob, SentAt: now, Status: domain.StatusRead, At: now}
	if fed, err := applyOne(t, db.Views(), receipt, 0); err != nil || len(fed) != 1 {
		t.Fatalf("receipt before its message: %d fed, %v", len(fed), err)
	}
	if _, err := applyOne(t, db.Views(), domain.MessageSent{ID: id, From: alice, To: bob, Text: "hi", SentAt: now}, 1); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if fed, err := applyOne(t, db.Views(), receipt, 2); err != nil || len(fed) != 0 {
		t.Fatalf("the receipt again after a restart: %d fed (%v), want 0", len(fed), err)
	}
}
