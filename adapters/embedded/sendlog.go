package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/commands"
)

var _ commands.SendLog = (*SendLog)(nil)

// SendLog keeps client_msg_id reservations under "s/<from>/<client_msg_id>".
// Records are kept for ever in the embedded store. Safe for concurrent use:
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
