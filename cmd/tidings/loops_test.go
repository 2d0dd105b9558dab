package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// until polls cond every few milliseconds until it holds, failing the test
// after limit.
func until(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tailLog is a projections.Stream whose Tail hands out scripted runs: run i
// hands out batches[i] from the offset asked and then ends with end[i] (nil:
// waits for its context, as a healthy tail does).
type tailLog struct {
	projections.Stream
	runs []tailRun

	mu    sync.Mutex
	froms []int64 // the from of every Tail call
}

type tailRun struct {
	records int   // records handed out, one batch
	end     error // then returned; nil: block until ctx ends
}

func (l *tailLog) Tail(ctx context.Context, partition int32, from int64, handle projections.BatchHandler) error {
	l.mu.Lock()
	i := len(l.froms)
	l.froms = append(l.froms, from)
	l.mu.Unlock()
	run := tailRun{}
	if i < len(l.runs) {
		run = l.runs[i]
	}
	if run.records > 0 {
		b := projections.Batch{Partition: partition}
		for off := from; off < from+int64(run.records); off++ {
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(off) * time.Second)
			ev := domain.MessageSent{ID: domain.MessageID(domain.NewID(at)), From: "a", To: "b", Text: "x", SentAt: at}
			b.Records = append(b.Records, projections.Record{Pos: domain.Position{Partition: partition, Offset: off}, Event: ev})
		}
		if err := handle(ctx, b); err != nil {
			return err
		}
	}
	if run.end != nil {
		return run.end
	}
	<-ctx.Done()
	return ctx.Err()
}

func (l *tailLog) calls() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.froms...)
}

// TestPushTailRestartsWhereItStood checks issue 11.7: a push tail whose
// partition consumer closes (Tail returns) is restarted from the offset
// after the last one it pushed, goes on pushing, and the node is not ready
// from the moment it stopped until the restart has run steadily.
func TestPushTailRestartsWhereItStood(t *testing.T) {
	stopped := errors.New("tail t/0: kafka: partition consumer stopped")
	log := &tailLog{runs: []tailRun{{records: 3, end: stopped}, {records: 2}}}
	tracker := projections.NewTracker(nil)
	tracker.Advance(domain.Position{Partition: 0, Offset: 1000}) // the views hold everything
	var (
		mu     sync.Mutex
		pushed []int64
	)
	fan := &projections.Fanout{Tracker: tracker, Log: slog.New(slog.DiscardHandler), Push: func(_ context.Context, items []projections.FeedItem) {
		mu.Lock()
		defer mu.Unlock()
		for _, it := range items {
			pushed = append(pushed, it.Cursor.Offset)
		}
	}}
	bg := newLoops(slog.New(slog.DiscardHandler))
	bg.steady = time.Hour // stays "recently restarted" for the whole test
	t.Cleanup(bg.stop)

	if err := bg.health(t.Context()); err != nil {
		t.Fatalf("health before any loop ran: %v", err)
	}
	runPushTails(bg, fan, log, 1, map[int32]int64{0: 9}) // the views applied up to offset 9
	until(t, 5*time.Second, "restarted and pushing", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(pushed) == 5
	})
	if got := log.calls(); len(got) != 2 || got[0] != 10 || got[1] != 13 {
		t.Fatalf("Tail called from %v, want [10 13]: first after the views, then after the last offset pushed", got)
	}
	mu.Lock()
	got := append([]int64(nil), pushed...)
	mu.Unlock()
	for i, off := range []int64{10, 11, 12, 13, 14} {
		if got[i] != off {
			t.Fatalf("pushed offsets %v, want 10 to 14 once each", got)
		}
	}
	if err := bg.health(t.Context()); err == nil || !errors.Is(err, stopped) {
		t.Fatalf("health after the tail stopped: %v, want not ready naming why", err)
	}
}

// TestLoopHealth checks the readiness of the background loops: a loop that
// keeps stopping keeps the node not ready and is restarted with growing
// pauses; one whose restart runs steadily makes it ready again; one that
// returns without an error counts as stopped too.
func TestLoopHealth(t *testing.T) {
	tests := []struct {
		name    string
		fails   int // runs that return before the one that blocks; -1: all
		err     error
		recover bool
	}{
		{"recovers after one failure", 1, errors.New("consumer closed"), true},
		{"recovers after a nil return", 1, nil, true},
		{"keeps failing", -1, errors.New("no leader"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bg := newLoops(slog.New(slog.DiscardHandler))
			bg.steady = 100 * time.Millisecond
			t.Cleanup(bg.stop)
			var (
				mu     sync.Mutex
				starts []time.Time
			)
			bg.run("loop", func(ctx context.Context) error {
				mu.Lock()
				starts = append(starts, time.Now())
				n := len(starts)
				mu.Unlock()
				if tc.fails < 0 || n <= tc.fails {
					return tc.err
				}
				<-ctx.Done()
				return ctx.Err()
			})
			runs := func() int { mu.Lock(); defer mu.Unlock(); return len(starts) }
			until(t, 5*time.Second, "failed and restarted", func() bool { return runs() >= 2 })
			if !tc.recover {
				until(t, 5*time.Second, "restarted twice more", func() bool { return runs() >= 4 })
				if err := bg.health(t.Context()); err == nil {
					t.Fatal("health nil while the loop keeps failing")
				}
				mu.Lock()
				defer mu.Unlock()
				if p1, p2 := starts[2].Sub(starts[1]), starts[3].Sub(starts[2]); p2 < p1+p1/2 {
					t.Errorf("pauses between restarts %v then %v, want them to grow", p1, p2)
				}
				return
			}
			until(t, 5*time.Second, "ready again once the restart ran steadily", func() bool { return bg.health(t.Context()) == nil })
			if runs() != 2 {
				t.Fatalf("%d runs, want 2", runs())
			}
		})
	}
}
