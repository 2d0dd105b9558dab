package embedded_test

import (
	"context"
	"strings"
	"sync/atomic"
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

// BenchmarkApplySent is the projector's write of one MessageSent into the
// on-disk Pebble views (the sender's and the recipient's rows, one synced batch each, then the applied position), from one
// goroutine and from many (as the projector does with one worker per
// partition). ns/op is the raw write ceiling of the embedded view store.
//
//	go test -run '^$' -bench ApplySent -benchtime 2000x ./adapters/embedded/
func BenchmarkApplySent(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		benchApply(b, false)
	})
	b.Run("parallel", func(b *testing.B) {
		benchApply(b, true)
	})
}

func benchApply(b *testing.B, parallel bool) {
	views := openBenchDB(b).Views()
	users := benchUsers(200)
	text := strings.Repeat("x", 100)
	var off atomic.Int64
	apply := func() {
		n := off.Add(1)
		from, to := users[n%200], users[(n+1)%200]
		at := time.Now().UTC().Truncate(time.Millisecond)
		ev := domain.MessageSent{ID: domain.MessageID(domain.NewID(at)), From: from, To: to, Text: text, SentAt: at}
		pos := domain.Position{Partition: domain.PartitionOf(to, 16), Offset: n}
		// As the projector does: each party's rows, then the position.
		for _, u := range projections.Parties(ev) {
			if err := projections.ApplyFor(context.Background(), views, ev, u, pos); err != nil {
				b.Error(err)
			}
		}
		if err := views.RecordPosition(context.Background(), pos); err != nil {
			b.Error(err)
		}
	}
	b.ReportAllocs()
	if !parallel {
		for b.Loop() {
			apply()
		}
		return
	}
	b.SetParallelism(8) // 16 goroutines on 2 cores, like 16 partition workers
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			apply()
		}
	})
}
