package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// BenchmarkEventLogAppend measures durable appends from parallel
// appenders: appends/s, and how many commits and fsyncs each append costs.
// "pebble-sync-set" is the alternative design's floor: the same values
// encoded and written by concurrent db.Set(pebble.Sync) calls, which Pebble's commit
// pipeline groups into shared WAL syncs, without offsets or readers.
//
//	go test -run '^$' -bench EventLogAppend -benchtime 2s ./adapters/embedded/
func BenchmarkEventLogAppend(b *testing.B) {
	evs := make([]domain.MessageSent, 256)
	for i := range evs {
		evs[i] = testEvent(int32(i%16), 16)
	}
	for _, appenders := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("eventlog/appenders=%d", appenders), func(b *testing.B) {
			fs := &syncCountingFS{FS: vfs.Default}
			l := openTestLog(b, b.TempDir(), EventLogConfig{Partitions: 16, fs: fs})
			syncs0, commits0 := fs.syncs.Load(), l.commits.Load()
			var next atomic.Int64
			runAppenders(b, appenders, func() error {
				_, err := l.Append(context.Background(), evs[next.Add(1)%int64(len(evs))])
				return err
			})
			reportAppends(b, fs.syncs.Load()-syncs0)
			b.ReportMetric(float64(l.commits.Load()-commits0)/float64(b.N), "commits/append")
		})
	}
	b.Run("pebble-sync-set/appenders=64", func(b *testing.B) {
		fs := &syncCountingFS{FS: vfs.Default}
		db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: quietLogger{}, FS: fs})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		syncs0 := fs.syncs.Load()
		var next atomic.Int64
		runAppenders(b, 64, func() error {
			n := next.Add(1)
			value, err := domain.MarshalEvent(evs[n%int64(len(evs))])
			if err != nil {
				return err
			}
			return db.Set(binary.BigEndian.AppendUint64([]byte("l/"), uint64(n)), value, pebble.Sync)
		})
		reportAppends(b, fs.syncs.Load()-syncs0)
	})
}

// runAppenders runs b.N calls of op from the given number of goroutines.
func runAppenders(b *testing.B, appenders int, op func() error) {
	b.Helper()
	b.SetParallelism(max(1, appenders/runtime.GOMAXPROCS(0)))
	cpu0 := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/append")
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportAppends(b *testing.B, syncs int64) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64(syncs)/float64(b.N), "fsyncs/append")
}

// BenchmarkEventLogTail measures how fast Tail hands out one partition's
// records: from the in-memory tail (live traffic, no decoding) and from
// Pebble (a reader behind the tail: iterator and JSON decoding).
//
//	go test -run '^$' -bench EventLogTail -benchtime 200000x ./adapters/embedded/
func BenchmarkEventLogTail(b *testing.B) {
	const records = 20000
	for _, tc := range []struct {
		name string
		tail int
	}{
		{"memory", records},
		{"pebble", 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			l := openTestLog(b, b.TempDir(), EventLogConfig{Partitions: 2, TailRecords: tc.tail})
			fill(b, l, records)
			b.ResetTimer()
			read := 0
			for read < b.N {
				want := int64(min(b.N-read, records))
				ctx, cancel := context.WithCancel(context.Background())
				_ = l.Tail(ctx, 0, 0, func(_ context.Context, bt projections.Batch) error {
					read += len(bt.Records)
					if bt.Last()+1 >= want {
						cancel()
					}
					return nil
				})
				cancel()
			}
			b.StopTimer()
			b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// fill appends n records to partition 0 from 64 goroutines.
func fill(b *testing.B, l *EventLog, n int) {
	b.Helper()
	evs := make([]domain.MessageSent, 64)
	for i := range evs {
		evs[i] = testEvent(0, l.Partitions())
	}
	var (
		wg   sync.WaitGroup
		left atomic.Int64
	)
	left.Store(int64(n))
	for i := range evs {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if _, err := l.Append(context.Background(), evs[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
