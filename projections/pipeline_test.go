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

// Ids as the commands make them.
var (
	at    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	alice = domain.UserID(domain.NewID(at))
	bob   = domain.UserID(domain.NewID(at))
	m1    = domain.MessageID(domain.NewID(at))
)

func TestPipelineAppliesReceiptsAndPushesOnce(t *testing.T) {
	ctx := context.Background()
	sent := domain.MessageSent{ID: m1, From: alice, To: bob, Text: "hi", SentAt: at}
	delivered := domain.MessageDelivered{ID: m1, From: alice, To: bob, SentAt: at, DeliveredAt: at.Add(time.Second)}
	read := domain.MessageRead{ID: m1, From: alice, To: bob, SentAt: at, ReadAt: at.Add(2 * time.Second)}
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
		domain.MessageReceipt{ID: m1, From: alice, To: bob, SentAt: at, Status: domain.StatusDelivered, At: delivered.DeliveredAt},
		domain.MessageReceipt{ID: m1, From: alice, To: bob, SentAt: at, Status: domain.StatusRead, At: read.ReadAt},
	}
	// Each copy of the send is echoed to the sender's partition (its
	// other devices); the views keep one.
	wantReceipts = append(wantReceipts, domain.EchoOf(sent))
	if len(log.got) != 4 || !containsAll(log.got, wantReceipts) {
		t.Fatalf("receipts and echoes appended %v, want %v (the echo twice)", log.got, wantReceipts)
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
	for _, u := range []domain.UserID{alice, bob} {
		m, err := views.Message(ctx, u, m1)
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

// TestPipelineRecordsNoPositionWhenAReceiptCannotBeAppended: the views may
// hold a batch whose derived events could not be appended, but its
// position is not recorded, so the batch is handed out again (after a
// restart, too) and its receipt and echo are appended then.
func TestPipelineRecordsNoPositionWhenAReceiptCannotBeAppended(t *testing.T) {
	ctx := context.Background()
	log := &recordingLog{fail: errors.New("log down")}
	views := newViews(t)
	p := &projections.Pipeline{Store: views, Log: log}
	b := batchOf(0, 0,
		domain.MessageSent{ID: m1, From: alice, To: bob, Text: "hi", SentAt: at},
		domain.MessageRead{ID: m1, From: alice, To: bob, SentAt: at, ReadAt: at})
	if err := p.Handle(ctx, b); err == nil {
		t.Fatal("Handle succeeded without its receipt")
	}
	if pos, _ := views.AppliedPositions(ctx); len(pos) != 0 {
		t.Fatalf("positions recorded for a batch that failed: %v", pos)
	}
	log.mu.Lock()
	log.fail = nil
	log.mu.Unlock()
	if err := p.Handle(ctx, b); err != nil {
		t.Fatal(err)
	}
	if pos, _ := views.AppliedPositions(ctx); pos[0] != 1 {
		t.Fatalf("positions after the batch was handled again: %v, want partition 0 at 1", pos)
	}
	log.mu.Lock()
	got := len(log.got)
	log.mu.Unlock()
	if got != 2 {
		t.Fatalf("appended %d events, want the receipt and the echo", got)
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

// An event no command writes (here: forged onto the log with names for
// parties, or without its text) is refused and reported, never shown, and
// the partition moves past it.
func TestPipelineRefusesEventsNoCommandWrites(t *testing.T) {
	ctx := context.Background()
	views := newViews(t)
	var rejected []int64
	var pushed []projections.FeedItem
	p := &projections.Pipeline{Store: views, Log: &recordingLog{},
		Push:     func(_ context.Context, items []projections.FeedItem) { pushed = append(pushed, items...) },
		Rejected: func(r projections.Record, err error) { rejected = append(rejected, r.Pos.Offset) }}
	m2 := domain.MessageID(domain.NewID(at))
	tests := []domain.Event{
		domain.MessageSent{ID: m1, From: "mallory", To: bob, Text: "pay me", SentAt: at}, // not an id
		domain.MessageSent{ID: m1, From: alice, To: bob, Text: "", SentAt: at},           // no text
		domain.MessageSent{ID: m1, From: alice, To: bob, Text: "no time"},                // no sent_at
		domain.MessageRead{ID: m1, From: alice, To: bob, SentAt: at},                     // no read_at
		domain.MessageReceipt{ID: m1, From: alice, To: bob, SentAt: at, At: at},          // no status
		domain.MessageSent{ID: m2, From: alice, To: bob, Text: "genuine", SentAt: at},    // kept
	}
	if err := p.Handle(ctx, batchOf(0, 0, tests...)); err != nil {
		t.Fatal(err)
	}
	if len(rejected) != 5 || rejected[4] != 4 {
		t.Fatalf("rejected offsets %v, want 0..4", rejected)
	}
	if len(pushed) != 1 || pushed[0].Message.ID != m2 {
		t.Fatalf("pushed %+v, want only the genuine message", pushed)
	}
	if _, err := views.Message(ctx, bob, m1); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a forged message is in the views: %v", err)
	}
	if pos, _ := views.AppliedPositions(ctx); pos[0] != 5 {
		t.Fatalf("position %v, want 5", pos)
	}
	// A batch of nothing but forged records still moves the position.
	if err := p.Handle(ctx, batchOf(0, 6, tests[0])); err != nil {
		t.Fatal(err)
	}
	if pos, _ := views.AppliedPositions(ctx); pos[0] != 6 {
		t.Fatalf("position %v after a forged-only batch, want 6", pos)
	}
}
