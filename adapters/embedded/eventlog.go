package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

var (
	_ commands.EventLog  = (*EventLog)(nil)
	_ projections.Stream = (*EventLog)(nil)
)

// ErrEventLogClosed is returned by the EventLog's methods once Close has
// been called, and by appends that were still waiting for their commit.
var ErrEventLogClosed = errors.New("event log closed")

// Event-log defaults.
const (
	DefaultTailRecords   = 4096
	DefaultMaxBatch      = 512
	DefaultRetryPause    = 200 * time.Millisecond
	DefaultRetryPauseMax = 5 * time.Second
)

// EventLogConfig configures an EventLog.
type EventLogConfig struct {
	// Partitions is the partition count (1..domain.VirtualShards). It is
	// stored in the log on first open; reopening with another count fails.
	Partitions int32
	// TailRecords is how many of the newest records of each partition are
	// kept decoded in memory, so that readers of live traffic never touch
	// the disk or decode JSON.
	TailRecords int
	// MaxBatch caps the records of one Batch handed to a handler.
	MaxBatch int
	// RetryPause is Consume's pause before a failed batch is handed out
	// again; it doubles after each further failure up to RetryPauseMax.
	RetryPause, RetryPauseMax time.Duration

	fs vfs.FS // tests only: nil is the OS file system
}

// SetDefaults fills the zero fields (Partitions has no default).
func (c *EventLogConfig) SetDefaults() {
	if c.TailRecords == 0 {
		c.TailRecords = DefaultTailRecords
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.RetryPause == 0 {
		c.RetryPause = DefaultRetryPause
	}
	if c.RetryPauseMax == 0 {
		c.RetryPauseMax = max(DefaultRetryPauseMax, c.RetryPause)
	}
}

// Validate reports every problem with the configuration.
func (c EventLogConfig) Validate() error {
	var errs []error
	if c.Partitions < 1 || c.Partitions > domain.VirtualShards {
		errs = append(errs, fmt.Errorf("event log: partitions %d not in 1..%d", c.Partitions, domain.VirtualShards))
	}
	if c.TailRecords < 1 {
		errs = append(errs, fmt.Errorf("event log: tail records %d < 1", c.TailRecords))
	}
	if c.MaxBatch < 1 {
		errs = append(errs, fmt.Errorf("event log: max batch %d < 1", c.MaxBatch))
	}
	if c.RetryPause <= 0 {
		errs = append(errs, fmt.Errorf("event log: retry pause %s <= 0", c.RetryPause))
	}
	if c.RetryPauseMax < c.RetryPause {
		errs = append(errs, fmt.Errorf("event log: retry pause max %s < retry pause %s", c.RetryPauseMax, c.RetryPause))
	}
	return errors.Join(errs...)
}

// EventLog is the embedded mode's durable event log: a partitioned,
// append-only log in a Pebble database of its own, for a single process.
//
// Keys are "l/<partition: 4 bytes BE><offset: 8 bytes BE>", values the
// binary record of eventcodec.go (JSON envelopes of earlier versions are
// still read); "m/partitions" holds the partition count.
// Offsets are dense from 0 in each partition.
//
// Durability: Append returns only after its record is fsynced. One
// committer goroutine drains every pending append into one Pebble batch
// written with pebble.Sync; concurrent appends share fsyncs (group commit,
// see commitLoop). Records become visible to readers only after their
// fsync, so views built from the log can never be ahead of what a crash
// leaves.
//
// Reads: the newest TailRecords records of each partition are kept in
// memory as the appended domain.Event values (immutable values, handed out
// as is); older offsets are read from Pebble and decoded.
//
// A commit error is sticky: every later Append fails with it, because the
// outcome of the failed batch is unknown; reopen the log to go on.
//
// All methods are safe for concurrent use.
type EventLog struct {
	cfg   EventLogConfig
	db    *pebble.DB
	parts []*logPartition

	pendMu  sync.Mutex
	pending []*appendReq
	closed  bool          // under pendMu
	kick    chan struct{} // one-slot: pending is non-empty
	closing chan struct{} // closed by Close
	done    chan struct{} // closed when the committer has returned

	readMu   sync.RWMutex // Pebble reads hold it shared; Close takes it to close Pebble
	dbClosed bool         // under readMu

	failMu sync.Mutex
	failed error // the first write error: sticky

	closeOnce sync.Once
	closeErr  error

	commits   atomic.Int64 // Pebble batches written (tests and benchmarks)
	appends   atomic.Int64 // records committed
	diskReads atomic.Int64 // batches read from Pebble (tests)
}

var partitionsKey = []byte("m/partitions")

// OpenEventLog opens (creating if needed) the event log in dir.
func OpenEventLog(dir string, cfg EventLogConfig) (*EventLog, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Bloom filters: the send log lives here too (EventLog.SendLog), and a
	// reservation of a new client_msg_id looks up a key that does not
	// exist, which without filters reads a block of every table that
	// spans it (in profiles, a tenth of a send's CPU).
	opts := &pebble.Options{Logger: quietLogger{}, FS: cfg.fs, CacheSize: 32 << 20}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open event log %s: %w", dir, err)
	}
	l := &EventLog{cfg: cfg, db: db, kick: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{})}
	if err := l.recover(); err != nil {
		return nil, errors.Join(fmt.Errorf("open event log %s: %w", dir, err), db.Close())
	}
	go l.commitLoop()
	return l, nil
}

// recover checks the stored partition count (storing it on first open)
// and finds each partition's oldest and next offsets from its first and
// last keys.
func (l *EventLog) recover() error {
	n := l.cfg.Partitions
	switch v, err := get(l.db, partitionsKey); {
	case errors.Is(err, pebble.ErrNotFound):
		if err := l.db.Set(partitionsKey, binary.BigEndian.AppendUint32(nil, uint32(n)), pebble.Sync); err != nil {
			return fmt.Errorf("store partition count: %w", err)
		}
	case err != nil:
		return fmt.Errorf("read partition count: %w", err)
	case len(v) != 4:
		return fmt.Errorf("partition count: bad value of %d bytes", len(v))
	case int32(binary.BigEndian.Uint32(v)) != n:
		return fmt.Errorf("log has %d partitions, configured %d", int32(binary.BigEndian.Uint32(v)), n)
	}
	l.parts = make([]*logPartition, n)
	for p := range n {
		oldest, next, err := l.partitionBounds(p)
		if err != nil {
			return err
		}
		l.parts[p] = &logPartition{oldest: oldest, next: next, ringStart: next,
			ring: make([]projections.Record, l.cfg.TailRecords), wake: make(chan struct{})}
	}
	return nil
}

func (l *EventLog) partitionBounds(p int32) (oldest, next int64, err error) {
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: recordKey(p, 0), UpperBound: partitionEnd(p)})
	if err != nil {
		return 0, 0, fmt.Errorf("partition %d: %w", p, err)
	}
	defer it.Close()
	if !it.First() {
		return 0, 0, it.Error()
	}
	oldest = keyOffset(it.Key())
	if !it.Last() {
		return 0, 0, fmt.Errorf("partition %d: last key: %w", p, it.Error())
	}
	return oldest, keyOffset(it.Key()) + 1, nil
}

// Partitions implements projections.Stream.
func (l *EventLog) Partitions() int32 { return l.cfg.Partitions }

// Close fails the appends still waiting, makes Tail and Consume return
// ErrEventLogClosed, waits for reads in progress and closes Pebble. It does
// not wait for handlers to return. Safe to call more than once.
func (l *EventLog) Close() error {
	l.closeOnce.Do(func() {
		l.pendMu.Lock()
		l.closed = true
		l.pendMu.Unlock()
		close(l.closing)
		<-l.done
		l.readMu.Lock()
		l.dbClosed = true
		l.closeErr = l.db.Close()
		l.readMu.Unlock()
	})
	return l.closeErr
}

// recordKey is "l/<partition BE32><offset BE64>".
func recordKey(p int32, off int64) []byte {
	k := make([]byte, 0, 14)
	k = append(k, 'l', '/')
	k = binary.BigEndian.AppendUint32(k, uint32(p))
	return binary.BigEndian.AppendUint64(k, uint64(off))
}

// partitionEnd is the first key after every record key of partition p.
func partitionEnd(p int32) []byte {
	return prefixEnd(binary.BigEndian.AppendUint32([]byte("l/"), uint32(p)))
}

func keyOffset(k []byte) int64 { return int64(binary.BigEndian.Uint64(k[6:])) }
