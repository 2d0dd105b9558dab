package contract

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// logPartitions is the partition count of every log the suite asks for.
const logPartitions = 4

// logWait bounds every wait of the suite for a condition.
const logWait = 30 * time.Second

// TestEventLog runs the event-log contract through the two ports only:
// commands.EventLog (appends) and projections.Stream (reads). Besides what
// the ports' comments promise, it requires dense offsets within a batch,
// and that Tail from any offset before the oldest, negative ones included,
// starts at the oldest. newLog
// returns a fresh, empty log of the given partition count, as both ports of
// one log, and cleans it up with t.Cleanup. Subtests run in parallel, each
// on a log of its own.
func TestEventLog(t *testing.T, newLog func(t *testing.T, partitions int32) (commands.EventLog, projections.Stream)) {
	tests := []struct {
		name string
		run  func(*testing.T, *logFixture)
	}{
		{"AppendKeepsKeyOrderInItsPartition", testAppendOrder},
		{"ConcurrentAppendsGetDistinctPositions", testConcurrentAppends},
		{"BoundsFollowAppends", testBounds},
		{"TailSeesEveryRecordOnceAndWaits", testTail},
		{"TailStopsAtHandlerError", testTailHandlerError},
		{"ConsumeFromStartRetriesFailedBatch", testConsume},
		{"AppendWithCancelledContextReturns", testAppendCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app, stream := newLog(t, logPartitions)
			tc.run(t, newLogFixture(app, stream))
		})
	}
}

// logFixture holds a log under test, two users keyed to each partition,
// and every record appended through it, per partition in offset order.
type logFixture struct {
	app      commands.EventLog
	stream   projections.Stream
	users    [logPartitions][2]domain.UserID
	mu       sync.Mutex
	appended map[int32][]projections.Record
}

func newLogFixture(app commands.EventLog, stream projections.Stream) *logFixture {
	f := &logFixture{app: app, stream: stream, appended: map[int32][]projections.Record{}}
	var have [logPartitions]int
	for done := 0; done < 2*logPartitions; {
		u := domain.UserID(domain.NewID(time.Now()))
		p := domain.PartitionOf(u, logPartitions)
		if have[p] < 2 {
			f.users[p][have[p]] = u
			have[p]++
			done++
		}
	}
	return f
}

// event returns a new message to the i-th user of partition p (i in 0..1),
// from the other one.
func (f *logFixture) event(p int32, i int) domain.MessageSent {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return domain.MessageSent{ID: domain.MessageID(domain.NewID(now)), From: f.users[p][1-i], To: f.users[p][i], Text: "contract", SentAt: now}
}

// append appends ev, checks its partition and remembers the record.
func (f *logFixture) append(t *testing.T, ev domain.Event) domain.Position {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), logWait)
	defer cancel()
	pos, err := f.app.Append(ctx, ev)
	if err != nil {
		t.Fatalf("append %s: %v", ev.Message(), err)
	}
	if want := domain.PartitionOf(ev.Key(), logPartitions); pos.Partition != want {
		t.Fatalf("event keyed %s landed in partition %d, want PartitionOf = %d", ev.Key(), pos.Partition, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.appended[pos.Partition] = append(f.appended[pos.Partition], projections.Record{Pos: pos, Event: ev})
	return pos
}

// appendN appends n events to partition p, alternating its two users.
func (f *logFixture) appendN(t *testing.T, p int32, n int) {
	t.Helper()
	for i := range n {
		f.append(t, f.event(p, i%2))
	}
}

// records returns the records appended to p at or after offset from.
func (f *logFixture) records(p int32, from int64) []projections.Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []projections.Record
	for _, r := range f.appended[p] {
		if r.Pos.Offset >= from {
			out = append(out, r)
		}
	}
	return out
}

func (f *logFixture) bounds(t *testing.T) (oldest, next map[int32]int64) {
	t.Helper()
	oldest, next, err := f.stream.Bounds(context.Background())
	if err != nil {
		t.Fatalf("Bounds: %v", err)
	}
	if len(oldest) != logPartitions || len(next) != logPartitions {
		t.Fatalf("Bounds: %d oldest and %d next offsets, want %d each", len(oldest), len(next), logPartitions)
	}
	return oldest, next
}

func testAppendOrder(t *testing.T, f *logFixture) {
	if got := f.stream.Partitions(); got != logPartitions {
		t.Fatalf("Partitions() = %d, want %d", got, logPartitions)
	}
	for i := range 40 {
		f.append(t, f.event(int32(i%logPartitions), i/logPartitions%2))
	}
	for p := range int32(logPartitions) {
		recs := f.records(p, 0)
		for i := 1; i < len(recs); i++ {
			if recs[i].Pos.Offset <= recs[i-1].Pos.Offset {
				t.Fatalf("partition %d: append %d got offset %d after %d", p, i, recs[i].Pos.Offset, recs[i-1].Pos.Offset)
			}
		}
	}
}

func testConcurrentAppends(t *testing.T, f *logFixture) {
	const n = 32
	evs := make([]domain.MessageSent, n)
	for i := range evs {
		evs[i] = f.event(int32(i%logPartitions), i/logPartitions%2)
	}
	pos := make([]domain.Position, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range evs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), logWait)
			defer cancel()
			pos[i], errs[i] = f.app.Append(ctx, evs[i])
		})
	}
	wg.Wait()
	seen := map[domain.Position]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if want := domain.PartitionOf(evs[i].Key(), logPartitions); pos[i].Partition != want {
			t.Fatalf("append %d in partition %d, want %d", i, pos[i].Partition, want)
		}
		if j, dup := seen[pos[i]]; dup {
			t.Fatalf("appends %d and %d both got position %s", j, i, pos[i])
		}
		seen[pos[i]] = i
	}
}

func testBounds(t *testing.T, f *logFixture) {
	oldest, next := f.bounds(t)
	for p := range int32(logPartitions) {
		if oldest[p] != next[p] {
			t.Fatalf("empty log: partition %d has bounds [%d, %d), want empty", p, oldest[p], next[p])
		}
	}
	start := next
	for p := range int32(logPartitions) {
		f.appendN(t, p, int(p)*3) // partition 0 stays empty
	}
	oldest, next = f.bounds(t)
	for p := range int32(logPartitions) {
		recs := f.records(p, 0)
		if len(recs) == 0 {
			if oldest[p] != next[p] || next[p] != start[p] {
				t.Fatalf("untouched partition %d: bounds [%d, %d), want [%d, %d)", p, oldest[p], next[p], start[p], start[p])
			}
			continue
		}
		if last := recs[len(recs)-1].Pos.Offset; next[p] != last+1 {
			t.Fatalf("partition %d: next offset %d, want last appended %d + 1", p, next[p], last)
		}
		if oldest[p] > recs[0].Pos.Offset {
			t.Fatalf("partition %d: oldest offset %d after the first appended record %d", p, oldest[p], recs[0].Pos.Offset)
		}
	}
}

// batchLog records what a handler was given, checks that batches are
// contiguous and follow each other without gaps or repeats, and lets a
// test wait for a condition on it without polling.
type batchLog struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	next    map[int32]int64
	got     map[int32][]projections.Record
	calls   int
	errs    []string
}

func newBatchLog() *batchLog {
	return &batchLog{changed: make(chan struct{}), next: map[int32]int64{}, got: map[int32][]projections.Record{}}
}

// update runs fn under the lock and wakes the waiters.
func (l *batchLog) update(fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn()
	close(l.changed)
	l.changed = make(chan struct{})
}

// check reports what is wrong with b given the offset expected next.
func (l *batchLog) check(b projections.Batch) {
	if len(b.Records) == 0 {
		l.errs = append(l.errs, fmt.Sprintf("partition %d: empty batch", b.Partition))
		return
	}
	if want, ok := l.next[b.Partition]; ok && b.First() != want {
		l.errs = append(l.errs, fmt.Sprintf("partition %d: batch starts at %d, want %d", b.Partition, b.First(), want))
	}
	for i, r := range b.Records {
		if r.Pos.Partition != b.Partition || r.Pos.Offset != b.First()+int64(i) {
			l.errs = append(l.errs, fmt.Sprintf("partition %d: batch from %d holds %s at index %d", b.Partition, b.First(), r.Pos, i))
		}
	}
}

// accept records a batch a handler applied.
func (l *batchLog) accept(b projections.Batch) {
	l.check(b)
	l.got[b.Partition] = append(l.got[b.Partition], b.Records...)
	l.next[b.Partition] = b.Last() + 1
}

// await waits until cond (called under the lock) holds.
func (l *batchLog) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(logWait)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		ok, ch := cond(), l.changed
		l.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("waited %s for %s; handled: %v; problems: %q", logWait, what, l.offsets(), l.errs)
		}
	}
}

// has reports whether partition p has been handed out up to offset next.
func (l *batchLog) has(p int32, next int64) bool { return l.next[p] >= next }

func (l *batchLog) offsets() map[int32]string {
	out := map[int32]string{}
	for p, recs := range l.got {
		if len(recs) > 0 {
			out[p] = fmt.Sprintf("%d records, %d..%d", len(recs), recs[0].Pos.Offset, recs[len(recs)-1].Pos.Offset)
		}
	}
	return out
}

// verify fails t with every problem check found and if partition p was not
// handed out exactly want.
func (l *batchLog) verify(t *testing.T, p int32, want []projections.Record) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.errs {
		t.Error(e)
	}
	l.errs = nil
	sameRecords(t, fmt.Sprintf("partition %d", p), l.got[p], want)
}

func sameRecords(t *testing.T, what string, got, want []projections.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: handed out %d records, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i].Pos != want[i].Pos || !reflect.DeepEqual(got[i].Event, want[i].Event) {
			t.Fatalf("%s: record %d is %s %+v, want %s %+v", what, i, got[i].Pos, got[i].Event, want[i].Pos, want[i].Event)
		}
	}
}

// awaitReturn waits for a Tail or Consume to return and returns its error.
func awaitReturn(t *testing.T, what string, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(logWait):
		t.Fatalf("%s did not return within %s", what, logWait)
		return nil
	}
}

func testTail(t *testing.T, f *logFixture) {
	const p = 1
	f.appendN(t, p, 30)
	oldest, _ := f.bounds(t)
	mid := f.records(p, 0)[10].Pos.Offset
	cases := []struct {
		name string
		from func(t *testing.T) int64
	}{
		{"BeforeOldest", func(*testing.T) int64 { return oldest[p] - 5 }},
		{"FromOldest", func(*testing.T) int64 { return oldest[p] }},
		{"FromTheMiddle", func(*testing.T) int64 { return mid }},
		{"FromTheEnd", func(t *testing.T) int64 { _, next := f.bounds(t); return next[p] }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			from := tc.from(t)
			first := max(from, oldest[p])
			got := newBatchLog()
			got.next[p] = first
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- f.stream.Tail(ctx, p, from, func(_ context.Context, b projections.Batch) error {
					got.update(func() { got.accept(b) })
					return nil
				})
			}()
			want := f.records(p, first)
			if len(want) > 0 {
				got.await(t, fmt.Sprintf("records %d..%d", first, want[len(want)-1].Pos.Offset), func() bool {
					return got.has(p, want[len(want)-1].Pos.Offset+1)
				})
			}
			select {
			case err := <-done:
				t.Fatalf("Tail returned at the end of the log instead of waiting: %v", err)
			default:
			}
			f.appendN(t, p, 3)
			want = f.records(p, first)
			got.await(t, "the records appended while tailing", func() bool { return got.has(p, want[len(want)-1].Pos.Offset+1) })
			cancel()
			if err := awaitReturn(t, "Tail after cancel", done); !errors.Is(err, context.Canceled) {
				t.Fatalf("Tail after cancel returned %v, want context.Canceled", err)
			}
			got.verify(t, p, want)
		})
	}
}

func testTailHandlerError(t *testing.T, f *logFixture) {
	const p = 2
	f.appendN(t, p, 3)
	errBoom := errors.New("boom")
	calls := 0
	done := make(chan error, 1)
	go func() {
		done <- f.stream.Tail(context.Background(), p, 0, func(context.Context, projections.Batch) error {
			calls++
			return errBoom
		})
	}()
	if err := awaitReturn(t, "Tail with a failing handler", done); !errors.Is(err, errBoom) {
		t.Fatalf("Tail returned %v, want the handler's error", err)
	}
	if calls != 1 {
		t.Fatalf("handler called %d times after failing, want 1", calls)
	}
}

func testConsume(t *testing.T, f *logFixture) {
	const (
		failPart  = 1
		failAt    = 8 // offset index in failPart whose batch fails twice
		failTimes = 2
	)
	for range 12 {
		for p := range int32(logPartitions) {
			f.append(t, f.event(p, 0))
		}
	}
	oldest, next := f.bounds(t)
	// Where each partition starts: from the oldest, in the middle, at the
	// end (live records only), and a few records in.
	start := map[int32]int64{0: oldest[0], 1: oldest[1] + 5, 2: next[2], 3: oldest[3] + 3}
	failOff := f.records(failPart, 0)[failAt].Pos.Offset

	got := newBatchLog()
	var failedFirst []int64
	startFn := func(_ context.Context, p int32) (int64, error) {
		var off int64
		got.update(func() {
			off = start[p]
			if n, ok := got.next[p]; ok && n > off {
				off = n // resume after what was applied, as views do
			}
			got.next[p] = off
		})
		return off, nil
	}
	handle := func(_ context.Context, b projections.Batch) error {
		var err error
		got.update(func() {
			got.calls++
			if b.Partition == failPart && b.First() <= failOff && failOff <= b.Last() && len(failedFirst) < failTimes {
				got.check(b)
				failedFirst = append(failedFirst, b.First())
				err = fmt.Errorf("injected failure %d", len(failedFirst))
				return
			}
			got.accept(b)
		})
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.stream.Consume(ctx, "contract-"+domain.NewID(time.Now()), startFn, handle) }()

	caughtUp := func(next map[int32]int64) func() bool {
		return func() bool {
			for p := range int32(logPartitions) {
				if !got.has(p, next[p]) {
					return false
				}
			}
			return true
		}
	}
	got.await(t, "every record from the start offsets", caughtUp(next))
	for p := range int32(logPartitions) {
		f.append(t, f.event(p, 1))
	}
	_, next = f.bounds(t)
	got.await(t, "the records appended while consuming", caughtUp(next))
	cancel()
	if err := awaitReturn(t, "Consume after cancel", done); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume after cancel returned %v", err)
	}

	for p := range int32(logPartitions) {
		got.verify(t, p, f.records(p, start[p]))
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(failedFirst) != failTimes {
		t.Fatalf("the batch holding offset %d failed %d times, want %d", failOff, len(failedFirst), failTimes)
	}
	for _, first := range failedFirst[1:] {
		if first != failedFirst[0] {
			t.Fatalf("failed batch handed out again from %d, want its first record %d", first, failedFirst[0])
		}
	}
}

func testAppendCancelled(t *testing.T, f *logFixture) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := f.app.Append(ctx, f.event(0, 0))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Append with a cancelled context returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Append with a cancelled context did not return within 5s")
	}
}
