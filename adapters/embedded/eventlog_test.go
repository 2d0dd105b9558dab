package embedded

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// openTestLog opens the log in dir and closes it at the end of the test.
func openTestLog(t testing.TB, dir string, cfg EventLogConfig) *EventLog {
	t.Helper()
	l, err := OpenEventLog(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close event log: %v", err)
		}
	})
	return l
}

func TestEventLogContract(t *testing.T) {
	t.Parallel()
	contract.TestEventLog(t, func(t *testing.T, partitions int32) (commands.EventLog, projections.Stream) {
		l := openTestLog(t, t.TempDir(), EventLogConfig{Partitions: partitions, RetryPause: 20 * time.Millisecond})
		return l, l
	})
}

// testEvent returns a new message to a user of partition p of n.
func testEvent(p, n int32) domain.MessageSent {
	now := time.Now().UTC().Truncate(time.Millisecond)
	for {
		to := domain.UserID(domain.NewID(now))
		if domain.PartitionOf(to, n) == p {
			return domain.MessageSent{ID: domain.MessageID(domain.NewID(now)), From: "sender", To: to, Text: "t", SentAt: now}
		}
	}
}

func appendEvents(t testing.TB, l *EventLog, evs []domain.MessageSent) {
	t.Helper()
	for i, ev := range evs {
		if _, err := l.Append(context.Background(), ev); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

// tailAll reads partition p from offset from up to (excluding) to and
// returns the records and the batch sizes.
func tailAll(t testing.TB, l *EventLog, p int32, from, to int64) ([]projections.Record, []int) {
	t.Helper()
	var (
		recs  []projections.Record
		sizes []int
	)
	if from >= to {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := l.Tail(ctx, p, from, func(_ context.Context, b projections.Batch) error {
		recs = append(recs, b.Records...)
		sizes = append(sizes, len(b.Records))
		if b.Last() >= to-1 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || int64(len(recs)) < to-from {
		t.Fatalf("tail %d from %d: %d records, want %d: %v", p, from, len(recs), to-from, err)
	}
	return recs[:to-from], sizes
}

func TestEventLogConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  EventLogConfig
		want []string // substrings of the error; none: valid
	}{
		{"Defaults", EventLogConfig{Partitions: 16}, nil},
		{"NoPartitions", EventLogConfig{}, []string{"partitions 0"}},
		{"TooManyPartitions", EventLogConfig{Partitions: domain.VirtualShards + 1}, []string{"partitions 1025"}},
		{"Everything", EventLogConfig{Partitions: -1, TailRecords: -1, MaxBatch: -2, RetryPause: -time.Second, RetryPauseMax: -2 * time.Second},
			[]string{"partitions -1", "tail records -1", "max batch -2", "retry pause -1s", "retry pause max -2s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.SetDefaults()
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				want := EventLogConfig{Partitions: 16, TailRecords: DefaultTailRecords, MaxBatch: DefaultMaxBatch,
					RetryPause: DefaultRetryPause, RetryPauseMax: DefaultRetryPauseMax}
				if tc.cfg != want {
					t.Fatalf("defaults %+v, want %+v", tc.cfg, want)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestEventLogReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := OpenEventLog(dir, EventLogConfig{Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32][]domain.MessageSent{}
	for i := range 20 {
		p := int32(i % 3) // partition 3 stays empty
		ev := testEvent(p, 4)
		want[p] = append(want[p], ev)
		appendEvents(t, l, []domain.MessageSent{ev})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	t.Run("OtherPartitionCount", func(t *testing.T) {
		_, err := OpenEventLog(dir, EventLogConfig{Partitions: 8})
		if err == nil || !strings.Contains(err.Error(), "4 partitions") || !strings.Contains(err.Error(), "configured 8") {
			t.Fatalf("reopen with 8 partitions: %v, want an error naming 4 and 8", err)
		}
	})
	t.Run("RecoversOffsetsAndRecords", func(t *testing.T) {
		l := openTestLog(t, dir, EventLogConfig{Partitions: 4})
		oldest, next, err := l.Bounds(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for p := range int32(4) {
			if oldest[p] != 0 || next[p] != int64(len(want[p])) {
				t.Fatalf("partition %d: bounds [%d, %d), want [0, %d)", p, oldest[p], next[p], len(want[p]))
			}
			recs, _ := tailAll(t, l, p, 0, next[p])
			for i, r := range recs {
				if !reflect.DeepEqual(r.Event, want[p][i]) {
					t.Fatalf("partition %d offset %d: %+v, want %+v", p, i, r.Event, want[p][i])
				}
			}
		}
		pos, err := l.Append(context.Background(), testEvent(1, 4))
		if err != nil || pos != (domain.Position{Partition: 1, Offset: int64(len(want[1]))}) {
			t.Fatalf("append after reopen: %v, %v; want offset %d", pos, err, len(want[1]))
		}
	})
}

func TestEventLogTailMemoryAndDisk(t *testing.T) {
	t.Parallel()
	l := openTestLog(t, t.TempDir(), EventLogConfig{Partitions: 2, TailRecords: 8, MaxBatch: 5})
	evs := make([]domain.MessageSent, 30)
	for i := range evs {
		evs[i] = testEvent(1, 2)
	}
	appendEvents(t, l, evs)

	tests := []struct {
		name      string
		from      int64
		diskReads bool
	}{
		{"BehindTheTailReadsPebble", 0, true},
		{"InTheTailReadsMemory", 22, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := l.diskReads.Load()
			recs, sizes := tailAll(t, l, 1, tc.from, 30)
			for i, r := range recs {
				if r.Pos.Offset != tc.from+int64(i) || !reflect.DeepEqual(r.Event, evs[r.Pos.Offset]) {
					t.Fatalf("record %d: %s %+v, want offset %d %+v", i, r.Pos, r.Event, tc.from+int64(i), evs[tc.from+int64(i)])
				}
			}
			for _, n := range sizes {
				if n > 5 {
					t.Fatalf("batch of %d records, max 5", n)
				}
			}
			if read := l.diskReads.Load() > before; read != tc.diskReads {
				t.Fatalf("read Pebble: %v, want %v", read, tc.diskReads)
			}
		})
	}
}

// TestEventLogGroupCommit checks that concurrent appends share fsyncs
// (counted under Pebble, at the file system): the durable write is what
// group commit saves. Whether they also share Pebble batches depends on
// timing (on a quiet machine each append's in-memory commit can be its
// own while the fsyncs are shared), so that is logged, not asserted.
func TestEventLogGroupCommit(t *testing.T) {
	t.Parallel()
	fs := &syncCountingFS{FS: vfs.Default}
	l := openTestLog(t, t.TempDir(), EventLogConfig{Partitions: 4, fs: fs})
	const appenders, each = 64, 10
	evs := make([]domain.MessageSent, appenders)
	for i := range evs {
		evs[i] = testEvent(int32(i%4), 4)
	}
	syncs0 := fs.syncs.Load()
	var wg sync.WaitGroup
	errs := make(chan error, appenders*each)
	for i := range appenders {
		wg.Go(func() {
			for range each {
				if _, err := l.Append(context.Background(), evs[i]); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	commits, appends, syncs := l.commits.Load(), l.appends.Load(), fs.syncs.Load()-syncs0
	t.Logf("%d appends, %d commits, %d fsyncs", appends, commits, syncs)
	if appends != appenders*each {
		t.Fatalf("%d appends committed, want %d", appends, appenders*each)
	}
	if syncs >= appends/2 {
		t.Fatalf("%d fsyncs for %d concurrent appends: appends do not share fsyncs", syncs, appends)
	}
}

func TestEventLogClose(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := OpenEventLog(dir, EventLogConfig{Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	tailDone := make(chan error, 1)
	go func() {
		tailDone <- l.Tail(context.Background(), 0, 0, func(context.Context, projections.Batch) error { return nil })
	}()
	consumeDone := make(chan error, 1)
	go func() {
		consumeDone <- l.Consume(context.Background(), "g", func(context.Context, int32) (int64, error) { return 0, nil },
			func(context.Context, projections.Batch) error { return errors.New("never succeeds") })
	}()

	// Appenders keep going while the log closes: each append either
	// succeeds or fails with ErrEventLogClosed, none hangs.
	var (
		wg    sync.WaitGroup
		acked sync.Map // domain.Position -> domain.MessageID
		nAck  atomic.Int64
		fifty = make(chan struct{})
	)
	for range 8 {
		wg.Go(func() {
			for {
				ev := testEvent(0, 2)
				pos, err := l.Append(context.Background(), ev)
				if errors.Is(err, ErrEventLogClosed) {
					return
				}
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				acked.Store(pos, ev.ID)
				if nAck.Add(1) == 50 {
					close(fifty)
				}
			}
		})
	}
	select {
	case <-fifty:
	case <-time.After(30 * time.Second):
		t.Fatalf("only %d appends acknowledged", nAck.Load())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for name, done := range map[string]chan error{"Tail": tailDone, "Consume": consumeDone} {
		select {
		case err := <-done:
			if !errors.Is(err, ErrEventLogClosed) {
				t.Errorf("%s returned %v, want ErrEventLogClosed", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not return after Close", name)
		}
	}
	if _, err := l.Append(context.Background(), testEvent(0, 2)); !errors.Is(err, ErrEventLogClosed) {
		t.Fatalf("append after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	l2 := openTestLog(t, dir, EventLogConfig{Partitions: 2})
	_, next, _ := l2.Bounds(context.Background())
	recs, _ := tailAll(t, l2, 0, 0, next[0])
	found := map[domain.Position]domain.MessageID{}
	for _, r := range recs {
		found[r.Pos] = r.Event.Message()
	}
	acked.Range(func(k, v any) bool {
		if found[k.(domain.Position)] != v.(domain.MessageID) {
			t.Errorf("acknowledged %s at %s is not in the reopened log", v, k)
		}
		return true
	})
}

// helperEnv names the directory the helper process appends to.
const helperEnv = "TIDINGS_EVENTLOG_HELPER_DIR"

// TestHelperProcess is the child of TestEventLogSurvivesSIGKILL: it appends
// from 16 goroutines and prints "ack <partition> <offset> <id>" for every
// acknowledged append, until it is killed (or a minute passes).
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process for TestEventLogSurvivesSIGKILL")
	}
	l, err := OpenEventLog(dir, EventLogConfig{Partitions: 4})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for ctx.Err() == nil {
				ev := testEvent(int32(g%4), 4)
				pos, err := l.Append(ctx, ev)
				if err != nil {
					continue
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d %d %s\n", pos.Partition, pos.Offset, ev.ID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(3)
}

// TestEventLogSurvivesSIGKILL kills a process that is appending, then checks
// that every append it acknowledged is in the log, densely and decodable.
func TestEventLogSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[domain.Position]domain.MessageID{}
	sc := bufio.NewScanner(out)
	const killAfter = 2000
	for sc.Scan() {
		var (
			pos domain.Position
			id  string
		)
		if _, err := fmt.Sscanf(sc.Text(), "ack %d %d %s", &pos.Partition, &pos.Offset, &id); err != nil {
			continue // test framework output
		}
		acked[pos] = domain.MessageID(id)
		if len(acked) == killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v after %d acks, want killed by SIGKILL", err, len(acked))
	}
	if len(acked) < killAfter {
		t.Fatalf("child acknowledged %d appends before it died, want at least %d", len(acked), killAfter)
	}

	checkAcked(t, openTestLog(t, dir, EventLogConfig{Partitions: 4}), acked)
}

// checkAcked checks that the reopened log l holds every acknowledged
// record at its position, and that every partition is dense from 0 and
// decodable.
func checkAcked(t *testing.T, l *EventLog, acked map[domain.Position]domain.MessageID) {
	t.Helper()
	oldest, next, err := l.Bounds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for p := range l.Partitions() {
		if oldest[p] != 0 {
			t.Fatalf("partition %d starts at %d", p, oldest[p])
		}
		recs, _ := tailAll(t, l, p, 0, next[p]) // dense and decodable, or it fails
		for _, r := range recs {
			if id, ok := acked[r.Pos]; ok && id != r.Event.Message() {
				t.Fatalf("%s holds %s, acknowledged as %s", r.Pos, r.Event.Message(), id)
			}
		}
		total += next[p]
	}
	for pos, id := range acked {
		if pos.Offset >= next[pos.Partition] {
			t.Fatalf("acknowledged %s at %s lost: partition %d ends at %d", id, pos, pos.Partition, next[pos.Partition])
		}
	}
	t.Logf("%d appends acknowledged before the crash, %d records in the log", len(acked), total)
}

// TestEventLogSurvivesPowerLoss crashes the file system under appends that
// are in flight (Pebble's crashable in-memory FS keeps what was synced and
// some of what was not) and checks that every acknowledged append is in
// what is left: an acknowledgement before the fsync fails it, which a
// process kill cannot show.
func TestEventLogSurvivesPowerLoss(t *testing.T) {
	t.Parallel()
	for _, unsynced := range []int{0, 50} {
		t.Run(fmt.Sprintf("unsynced=%d%%", unsynced), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			l, err := OpenEventLog("log", EventLogConfig{Partitions: 4, fs: fs})
			if err != nil {
				t.Fatal(err)
			}
			var (
				mu     sync.Mutex
				acked  = map[domain.Position]domain.MessageID{}
				enough = make(chan struct{})
				wg     sync.WaitGroup
			)
			for g := range 16 {
				wg.Go(func() {
					for {
						ev := testEvent(int32(g%4), 4)
						pos, err := l.Append(context.Background(), ev)
						if err != nil {
							return // closed
						}
						mu.Lock()
						acked[pos] = ev.ID
						if len(acked) == 500 {
							close(enough)
						}
						mu.Unlock()
					}
				})
			}
			<-enough
			mu.Lock() // no acknowledgement is recorded after the crash
			crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsynced, RNG: rand.New(rand.NewPCG(1, uint64(unsynced)))})
			survivors := maps.Clone(acked)
			mu.Unlock()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			checkAcked(t, openTestLog(t, "log", EventLogConfig{Partitions: 4, fs: crashed}), survivors)
		})
	}
}

// syncCountingFS counts durable syncs (fsync, fdatasync) of the files it
// opens.
type syncCountingFS struct {
	vfs.FS
	syncs atomic.Int64
}

type syncCountingFile struct {
	vfs.File
	syncs *atomic.Int64
}

func (f syncCountingFile) Sync() error     { f.syncs.Add(1); return f.File.Sync() }
func (f syncCountingFile) SyncData() error { f.syncs.Add(1); return f.File.SyncData() }
func (f syncCountingFile) SyncTo(n int64) (bool, error) {
	full, err := f.File.SyncTo(n)
	if full {
		f.syncs.Add(1)
	}
	return full, err
}

func (fs *syncCountingFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return syncCountingFile{File: f, syncs: &fs.syncs}, nil
}

func (fs *syncCountingFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.Create(name, c))
}

func (fs *syncCountingFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenReadWrite(name, c, opts...))
}

func (fs *syncCountingFS) ReuseForWrite(old, name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.ReuseForWrite(old, name, c))
}

func (fs *syncCountingFS) OpenDir(name string) (vfs.File, error) { return fs.wrap(fs.FS.OpenDir(name)) }
