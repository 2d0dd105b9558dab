package embedded_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// benchUsers are the users the benchmark messages travel between.
func benchUsers(n int) []domain.UserID {
	at := time.Now()
	us := make([]domain.UserID, n)
	for i := range us {
		us[i] = domain.UserID(domain.NewID(at))
	}
	return us
}

func openBenchDB(b *testing.B) *embedded.DB {
	b.Helper()
	db, err := embedded.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// BenchmarkApplyBatch is the views pipeline's write of whole messages
// into the on-disk Pebble views: per message its MessageSent, MessageRead
// and MessageReceipt, both parties' rows, applied in batches of batch
// records with the position, as Pipeline.Handle does. ns/op is per
// message: the embedded view store's ceiling.
//
//	go test -run '^$' -bench ApplyBatch -benchtime 20000x ./adapters/embedded/
func BenchmarkApplyBatch(b *testing.B) {
	for _, batch := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchApplyBatch(b, batch) })
	}
}

func benchApplyBatch(b *testing.B, batch int) {
	ctx := context.Background()
	views := openBenchDB(b).Views()
	users := benchUsers(1000)
	text := strings.Repeat("x", 100)
	var recs []projections.Record
	off := int64(0)
	flush := func() {
		if len(recs) == 0 {
			return
		}
		bt := projections.Batch{Partition: 0, Records: recs}
		if _, err := views.ApplyBatch(ctx, projections.ChangesOf(bt), map[int32]int64{0: bt.Last()}); err != nil {
			b.Fatal(err)
		}
		recs = recs[:0]
	}
	add := func(ev domain.Event) {
		recs = append(recs, projections.Record{Event: ev, Pos: domain.Position{Offset: off}})
		off++
		if len(recs) >= batch {
			flush()
		}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		from, to := users[n%len(users)], users[(n*7+1)%len(users)]
		at := time.Now().UTC().Truncate(time.Millisecond)
		id := domain.MessageID(domain.NewID(at))
		add(domain.MessageSent{ID: id, From: from, To: to, Text: text, SentAt: at})
		add(domain.MessageRead{ID: id, From: from, To: to, SentAt: at, ReadAt: at})
		add(domain.MessageReceipt{ID: id, From: from, To: to, SentAt: at, Status: domain.StatusRead, At: at})
	}
	flush()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
