package projections_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// batchesLog is a Stream whose Tail hands out fixed batches and returns.
type batchesLog struct {
	projections.Stream
	batches []projections.Batch
}

func (l batchesLog) Tail(ctx context.Context, _ int32, _ int64, handle projections.BatchHandler) error {
	for _, b := range l.batches {
		if err := handle(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// TestFollowPushesARetriedSendOnce: a node that follows the log pushes a
// retried send's copy only when the views gave it the message's feed item
// (the first attempt never reached the log), never when they hold the
// message from an earlier position; sends without Retry are pushed
// without asking the views.
func TestFollowPushesARetriedSendOnce(t *testing.T) {
	ctx := context.Background()
	sent := domain.MessageSent{ID: m1, From: alice, To: bob, Text: "hi", ClientMsgID: "c1", SentAt: at}
	retry := sent
	retry.Retry = true
	m2 := domain.MessageID(domain.NewID(at.Add(1)))
	lost := domain.MessageSent{ID: m2, From: alice, To: bob, Text: "first attempt lost", ClientMsgID: "c2", SentAt: at.Add(1), Retry: true}
	batches := []projections.Batch{batchOf(3, 0, sent), batchOf(3, 1, retry, lost)}

	views := newViews(t)
	tracker := projections.NewTracker(nil)
	for _, b := range batches {
		changes := projections.ChangesOf(b)
		if _, err := views.ApplyBatch(ctx, changes, map[int32]int64{3: b.Last()}); err != nil {
			t.Fatal(err)
		}
		tracker.Advance(domain.Position{Partition: 3, Offset: b.Last()})
	}
	var pushed []projections.FeedItem
	fan := &projections.Fanout{Tracker: tracker, Views: views, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Push: func(_ context.Context, items []projections.FeedItem) { pushed = append(pushed, items...) }}
	next, err := fan.Follow(ctx, batchesLog{batches: batches}, 3, 0)
	if err != nil || next != 3 {
		t.Fatalf("Follow: next %d, %v", next, err)
	}
	if len(pushed) != 2 || pushed[0].Message.ID != m1 || pushed[0].Cursor.Offset != 0 ||
		pushed[1].Message.ID != m2 || pushed[1].Cursor.Offset != 2 {
		t.Fatalf("pushed %+v; want m1 at offset 0 and the lost attempt's retry at 2, each once", pushed)
	}
}

// TestFollowPushesALateOriginalOnce: a send's first attempt that reaches
// the log after its own retry's copy carries no Retry mark; the follower
// remembers the retry it passed, asks the views, and pushes the message
// once (at the retry's position, where the views put its feed item).
func TestFollowPushesALateOriginalOnce(t *testing.T) {
	ctx := context.Background()
	sent := domain.MessageSent{ID: m1, From: alice, To: bob, Text: "hi", ClientMsgID: "c1", SentAt: at}
	retry := sent
	retry.Retry = true
	batches := []projections.Batch{batchOf(3, 0, retry), batchOf(3, 1, sent)}

	views := newViews(t)
	tracker := projections.NewTracker(nil)
	for _, b := range batches {
		if _, err := views.ApplyBatch(ctx, projections.ChangesOf(b), map[int32]int64{3: b.Last()}); err != nil {
			t.Fatal(err)
		}
		tracker.Advance(domain.Position{Partition: 3, Offset: b.Last()})
	}
	var pushed []projections.FeedItem
	fan := &projections.Fanout{Tracker: tracker, Views: views, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Push: func(_ context.Context, items []projections.FeedItem) { pushed = append(pushed, items...) }}
	if _, err := fan.Follow(ctx, batchesLog{batches: batches}, 3, 0); err != nil {
		t.Fatal(err)
	}
	if len(pushed) != 1 || pushed[0].Message.ID != m1 || pushed[0].Cursor.Offset != 0 {
		t.Fatalf("pushed %+v; want m1 once, at the retry's offset 0", pushed)
	}
}
