package projections_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// recordingLog records appends; with fail set it refuses them.
type recordingLog struct {
	mu   sync.Mutex
	got  []domain.Event
	fail error
}

func (l *recordingLog) Append(_ context.Context, ev domain.Event) (domain.Position, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return domain.Position{}, l.fail
	}
	l.got = append(l.got, ev)
	return domain.Position{Partition: 9, Offset: int64(len(l.got) - 1)}, nil
}

func batchOf(partition int32, first int64, evs ...domain.Event) projections.Batch {
	b := projections.Batch{Partition: partition}
	for i, ev := range evs {
		b.Records = append(b.Records, projections.Record{Event: ev, Pos: domain.Position{Partition: partition, Offset: first + int64(i)}})
	}
	return b
}

func newViews(t *testing.T) projections.Store {
	t.Helper()
	db, err := embedded.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db.Views()
}

func TestPipelineAppliesReceiptsAndPushesOnce(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sent := domain.MessageSent{ID: "m1", From: "alice", To: "bob", Text: "hi", SentAt: at}
	delivered := domain.MessageDelivered{ID: "m1", From: "alice", To: "bob", SentAt: at, DeliveredAt: at.Add(time.Second)}
	read := domain.MessageRead{ID: "m1", From: "alice", To: "bob", SentAt: at, ReadAt: at.Add(2 * time.Second)}
	log := &recordingLog{}
	views := newViews(t)
	tracker := projections.NewTracker(nil)
	var pushed []projections.FeedItem
	p := &projections.Pipeline{Store: views, Log: log, Tracker: tracker,
		Push: func(_ context.Context, items []projections.FeedItem) { pushed = append(pushed, items...) }}

	// A retried send (the same MessageSent at a later offset) is one message
	// and one push.
	if err := p.Handle(ctx, batchOf(3, 0, sent, delivered, sent, read)); err != nil {
		t.Fatal(err)
	}
	wantReceipts := []domain.Event{
		domain.MessageReceipt{ID: "m1", From: "alice", To: "bob", SentAt: at, Status: domain.StatusDelivered, At: delivered.DeliveredAt},
		domain.MessageReceipt{ID: "m1", From: "alice", To: "bob", SentAt: at, Status: domain.StatusRead, At: read.ReadAt},
	}
	if len(log.got) != 2 || !containsAll(log.got, wantReceipts) {
		t.Fatalf("receipts appended %v, want %v", log.got, wantReceipts)
	}
	if len(pushed) != 2 || pushed[0].Kind != projections.FeedMessage || pushed[0].Cursor.Offset != 0 ||
		pushed[1].Kind != projections.FeedRead || pushed[1].Cursor.Offset != 3 {
		t.Fatalf("pushed %+v, want the message at 3-0 and the read at 3-3", pushed)
	}
	if pos, _ := views.AppliedPositions(ctx); pos[3] != 3 {
		t.Fatalf("applied positions %v, want partition 3 at 3", pos)
	}
	if err := tracker.Wait(ctx, domain.Position{Partition: 3, Offset: 3}, time.Millisecond); err != nil {
		t.Fatalf("tracker: %v", err)
	}
	for _, u := range []domain.UserID{"alice", "bob"} {
		m, err := views.Message(ctx, u, "m1")
		if err != nil || m.Status != domain.StatusRead {
			t.Fatalf("%s's copy: %+v, %v", u, m, err)
		}
	}

	// The same batch again (redelivery) pushes nothing new.
	pushed = nil
	if err := p.Handle(ctx, batchOf(3, 0, sent, delivered, sent, read)); err != nil {
		t.Fatal(err)
	}
	if len(pushed) != 0 {
		t.Fatalf("a redelivered batch pushed %+v", pushed)
	}
}

func TestPipelineDoesNotApplyWhenAReceiptCannotBeAppended(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	log := &recordingLog{fail: errors.New("log down")}
	views := newViews(t)
	p := &projections.Pipeline{Store: views, Log: log}
	err := p.Handle(ctx, batchOf(0, 0,
		domain.MessageSent{ID: "m1", From: "alice", To: "bob", Text: "hi", SentAt: at},
		domain.MessageRead{ID: "m1", From: "alice", To: "bob", SentAt: at, ReadAt: at}))
	if err == nil {
		t.Fatal("Handle succeeded without its receipt")
	}
	if pos, _ := views.AppliedPositions(ctx); len(pos) != 0 {
		t.Fatalf("positions recorded for a batch that failed: %v", pos)
	}
	if _, err := views.Message(ctx, "bob", "m1"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("the failed batch was applied: %v", err)
	}
}

func containsAll(got, want []domain.Event) bool {
	for _, w := range want {
		found := false
		for _, g := range got {
			if g == w {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
