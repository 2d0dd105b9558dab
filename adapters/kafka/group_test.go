package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tidings-chat/tidings/adapters/kafka"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// commit stores off as group's committed offset of partition p, as an
// earlier member would have.
func commit(t *testing.T, cfg kafka.Config, group string, p int32, off int64) {
	t.Helper()
	client, err := sarama.NewClient(cfg.Brokers, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	om, err := sarama.NewOffsetManagerFromClient(group, client)
	if err != nil {
		t.Fatal(err)
	}
	pom, err := om.ManagePartition(cfg.Topic, p)
	if err != nil {
		t.Fatal(err)
	}
	pom.MarkOffset(off, "")
	pom.ResetOffset(off, "")
	om.Commit()
	if err := errors.Join(pom.Close(), om.Close()); err != nil {
		t.Fatal(err)
	}
	if got := committed(t, cfg, group, p); got != off {
		t.Fatalf("committed %d for the test, broker has %d", off, got)
	}
}

// committed returns group's committed offset of partition p (-1: none).
func committed(t *testing.T, cfg kafka.Config, group string, p int32) int64 {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{cfg.Topic: {p}})
	if err != nil {
		t.Fatal(err)
	}
	blk := resp.GetBlock(cfg.Topic, p)
	if blk == nil || !errors.Is(blk.Err, sarama.ErrNoError) {
		t.Fatalf("committed offset of %s/%d: %+v", cfg.Topic, p, blk)
	}
	return blk.Offset
}

// consumeRun is a Consume running in the background; it is stopped and
// waited for when the test ends.
type consumeRun struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func runConsume(t *testing.T, s *kafka.Stream, group string, start projections.StartFunc, handle projections.BatchHandler) *consumeRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &consumeRun{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Consume(ctx, group, start, handle) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Consume and returns what it returned.
func (r *consumeRun) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	r.once.Do(func() {
		select {
		case r.err = <-r.done:
		case <-time.After(30 * time.Second):
			r.err = errors.New("Consume did not return within 30s")
			t.Error(r.err)
		}
	})
	return r.err
}

func newGroup() string { return "kstream-" + string(domain.NewID(time.Now())) }

// TestConsumeStartsAtStartNotAtCommitted: whatever the group committed, a
// claim begins at the offset start returns, and the offset committed at
// the end is the one after the last record handled.
func TestConsumeStartsAtStartNotAtCommitted(t *testing.T) {
	t.Parallel()
	const records = 20
	tests := []struct {
		name      string
		committed int64 // -1: the group never committed
		start     int64
	}{
		{"NothingCommitted", -1, 7},
		{"CommittedBehindStart", 3, 12},
		{"CommittedAheadOfStart", 15, 4},
		{"StartAtZeroCommittedAhead", 10, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := newTopic(t, 1)
			log, s := openLog(t, cfg)
			appendTo(t, log, userOn(0, 1), records)
			group := newGroup()
			if tc.committed >= 0 {
				commit(t, cfg, group, 0, tc.committed)
			}
			got := newTailed(records - int(tc.start))
			starts := make(chan int32, 4)
			run := runConsume(t, s, group, func(_ context.Context, p int32) (int64, error) {
				starts <- p
				return tc.start, nil
			}, got.handle)
			got.wait(t)
			if err := run.stop(t); !errors.Is(err, context.Canceled) {
				t.Fatalf("Consume after cancel returned %v, want context.Canceled", err)
			}
			wantOffsets(t, got.offsets(), tc.start, records)
			if p := <-starts; p != 0 {
				t.Fatalf("start asked for partition %d, want 0", p)
			}
			if c := committed(t, cfg, group, 0); c != records {
				t.Fatalf("committed offset %d after handling up to %d, want %d", c, records-1, records)
			}
		})
	}
}

// call is one handler call of TestConsumeRetriesAFailedBatch.
type call struct {
	first, last int64
	failed      bool
	at          time.Time
	committed   int64 // the group's committed offset during a failed call
}

// TestConsumeRetriesAFailedBatch: a batch whose handler fails is handed
// out again from its first record, after growing pauses, with nothing
// later handed out and nothing committed past it meanwhile.
func TestConsumeRetriesAFailedBatch(t *testing.T) {
	t.Parallel()
	const (
		records  = 40
		failAt   = 20 // the batch holding this offset fails...
		failures = 3  // ...this many times
	)
	cfg := newTopic(t, 1)
	cfg.MaxBatch = 8
	log, s := openLog(t, cfg)
	appendTo(t, log, userOn(0, 1), records)
	group := newGroup()

	var (
		mu    sync.Mutex
		calls []call
	)
	got := newTailed(records)
	handle := func(ctx context.Context, b projections.Batch) error {
		c := call{first: b.First(), last: b.Last(), at: time.Now()}
		mu.Lock()
		failed := 0
		for _, c := range calls {
			if c.failed {
				failed++
			}
		}
		mu.Unlock()
		if c.first <= failAt && failAt <= c.last && failed < failures {
			c.failed = true
			if failed == failures-1 {
				// By now (≥ 600 ms of pauses) the 200 ms auto-commit has run.
				c.committed = committed(t, cfg, group, 0)
			}
		}
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
		if c.failed {
			return fmt.Errorf("injected failure of %d..%d", c.first, c.last)
		}
		return got.handle(ctx, b)
	}
	run := runConsume(t, s, group, func(context.Context, int32) (int64, error) { return 0, nil }, handle)
	got.wait(t)
	if err := run.stop(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume after cancel returned %v, want context.Canceled", err)
	}
	wantOffsets(t, got.offsets(), 0, records)

	mu.Lock()
	defer mu.Unlock()
	var (
		next  int64 // the offset the next call must start at
		fails []call
		after call // the call after the last failure
	)
	for i, c := range calls {
		if i > 0 && calls[i-1].failed && !c.failed {
			after = c
		}
		if c.first != next {
			t.Fatalf("call %d handed out %d..%d, want it to start at %d", i, c.first, c.last, next)
		}
		if c.last-c.first+1 > int64(cfg.MaxBatch) {
			t.Fatalf("call %d: batch of %d records, max %d", i, c.last-c.first+1, cfg.MaxBatch)
		}
		if c.failed {
			fails = append(fails, c)
			if len(fails) > 1 && fails[len(fails)-2].last != c.last {
				t.Fatalf("call %d: failed batch retried as %d..%d, was %d..%d", i, c.first, c.last, fails[len(fails)-2].first, fails[len(fails)-2].last)
			}
			continue
		}
		next = c.last + 1
	}
	if len(fails) != failures {
		t.Fatalf("%d failed calls, want %d", len(fails), failures)
	}
	pauses := []time.Duration{fails[1].at.Sub(fails[0].at), fails[2].at.Sub(fails[1].at), after.at.Sub(fails[2].at)}
	for i, want := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond} {
		if pauses[i] < want {
			t.Fatalf("pause %d before the retry was %v, want at least %v (pauses %v)", i, pauses[i], want, pauses)
		}
	}
	if c := fails[failures-1].committed; c > fails[0].first {
		t.Fatalf("while %d..%d kept failing the group committed %d", fails[0].first, fails[0].last, c)
	} else if c < 0 {
		t.Fatalf("nothing committed before the failing batch %d..%d (committed %d)", fails[0].first, fails[0].last, c)
	}
}
