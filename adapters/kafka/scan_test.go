package kafka_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// TestScanStartsAtTheCheckpoint: a shard move's catch-up (projections.Scan
// from a checkpoint) reads each partition of the topic from the offset
// the checkpoint names, not from the partition's oldest record.
func TestScanStartsAtTheCheckpoint(t *testing.T) {
	t.Parallel()
	cfg := newTopic(t, 2)
	log, stream := openLog(t, cfg)
	ctx := context.Background()
	at := time.Now().UTC()
	for p := range int32(2) {
		to := userOn(p, 2)
		for i := range 20 {
			m := domain.MessageSent{ID: domain.MessageID(domain.NewID(at.Add(time.Duration(i) * time.Millisecond))),
				From: userOn(1-p, 2), To: to, Text: "x", SentAt: at}
			if _, err := log.Append(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	var (
		mu    sync.Mutex
		first = map[int32]int64{}
		count = map[int32]int{}
	)
	ends, n, err := projections.Scan(ctx, stream, map[int32]int64{0: 15, 1: 20}, func(_ context.Context, b projections.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := first[b.Partition]; !ok {
			first[b.Partition] = b.First()
		}
		count[b.Partition] += len(b.Records)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 || first[0] != 15 || count[0] != 5 || count[1] != 0 || ends[0] != 20 || ends[1] != 20 {
		t.Fatalf("scan from {0:15, 1:20}: %d records, first offsets %v, counts %v, ends %v", n, first, count, ends)
	}
}
