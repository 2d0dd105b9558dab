package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/commands"
)

var _ commands.SendLog = (*SendLog)(nil)

// SendLog keeps client_msg_id reservations under "s/<from>/<client_msg_id>"
// until Prune deletes them (a record's age is that of its SentAt, which
// the command stamps as it reserves). Safe for concurrent use:
// a reservation's check-and-set holds the lock of its key's stripe, so
// reservations of different keys run concurrently and their synced writes
// share fsyncs (Pebble commits concurrent synced batches together).
type SendLog struct {
	db    *pebble.DB
	locks [256]sync.Mutex
	// write is how a reservation is written: pebble.Sync in the store, or
	// pebble.NoSync in the event log's database, whose next append syncs
	// the write-ahead log that holds it (EventLog.SendLog).
	write *pebble.WriteOptions
	// log, when the send log lives in the event log's database, keeps
	// reservations off the database once the log is closed.
	log *EventLog
}

func (s *SendLog) lock(key []byte) func() {
	h := fnv.New32a()
	h.Write(key)
	l := &s.locks[h.Sum32()%uint32(len(s.locks))]
	l.Lock()
	return l.Unlock
}

// Reserve implements commands.SendLog.
func (s *SendLog) Reserve(_ context.Context, rec commands.SendRecord) (commands.SendRecord, bool, error) {
	key := []byte("s/" + string(rec.From) + "/" + rec.ClientMsgID)
	defer s.lock(key)()
	if s.log != nil {
		s.log.readMu.RLock()
		defer s.log.readMu.RUnlock()
		if s.log.dbClosed {
			return commands.SendRecord{}, false, ErrEventLogClosed
		}
	}
	v, err := get(s.db, key)
	if err == nil {
		var stored commands.SendRecord
		if err := json.Unmarshal(v, &stored); err != nil {
			return commands.SendRecord{}, false, fmt.Errorf("decode send record: %w", err)
		}
		return stored, false, nil
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return commands.SendRecord{}, false, fmt.Errorf("read send record: %w", err)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return commands.SendRecord{}, false, err
	}
	opts := s.write
	if opts == nil {
		opts = pebble.Sync
	}
	if err := s.db.Set(key, b, opts); err != nil {
		return commands.SendRecord{}, false, fmt.Errorf("store send record: %w", err)
	}
	return rec, true, nil
}

// pruneBatch bounds the deletions of one Prune write.
const pruneBatch = 5000

// Prune implements commands.SendLog: it deletes the records whose SentAt
// is more than olderThan before now, in batches of pruneBatch, unsynced (a
// deletion a crash loses only keeps a record a little longer); in the
// event log's database it holds the log open meanwhile.
// Records never change once reserved, so a deletion needs no lock: a
// Reserve of the same key either sees the old record (as if it came just
// before the prune) or none (and reserves anew).
func (s *SendLog) Prune(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan <= 0 {
		return 0, fmt.Errorf("prune send log: retention %s must be positive", olderThan)
	}
	if s.log != nil { // the event log's database: not once it is closed
		s.log.readMu.RLock()
		defer s.log.readMu.RUnlock()
		if s.log.dbClosed {
			return 0, ErrEventLogClosed
		}
	}
	cutoff := time.Now().Add(-olderThan)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte("s/"), UpperBound: []byte("s0")})
	if err != nil {
		return 0, fmt.Errorf("prune send log: %w", err)
	}
	defer it.Close()
	var total int64
	b := s.db.NewBatch()
	defer func() { _ = b.Close() }()
	flush := func() error {
		if b.Empty() {
			return nil
		}
		n := int64(b.Count())
		if err := b.Commit(pebble.NoSync); err != nil {
			return fmt.Errorf("prune send log: %w", err)
		}
		total += n
		b.Reset()
		return nil
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var rec struct {
			SentAt time.Time
		}
		if err := json.Unmarshal(it.Value(), &rec); err != nil {
			return total, fmt.Errorf("prune send log: decode %q: %w", it.Key(), err)
		}
		if !rec.SentAt.Before(cutoff) {
			continue
		}
		if err := b.Delete(it.Key(), nil); err != nil {
			return total, err
		}
		if b.Count() >= pruneBatch {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := it.Error(); err != nil {
		return total, fmt.Errorf("prune send log: %w", err)
	}
	return total, flush()
}
