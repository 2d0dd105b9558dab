package embedded

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// sendLogMovedKey marks an event log that holds the send log (and took
// the reservations the store held before, once).
var sendLogMovedKey = []byte("m/sendlog")

// SendLog returns the send log kept in the event log's own database, for
// a process whose sends and events are both embedded. A reservation is
// then written without an fsync of its own: the append of its MessageSent,
// which comes after it in the same write-ahead log, is acknowledged only
// once that log is synced, and a crash keeps a prefix of it — so an event
// that survives a crash has its reservation too, and a reservation lost
// with an event that was never acknowledged was never answered either.
// One fsync stream fewer per send, and lookups in a memtable that holds
// only log records.
//
// On first use it moves the reservations an earlier version kept in
// store (the "s/" keys) into the log, so retries across the upgrade find
// them.
func (l *EventLog) SendLog(store *DB) (*SendLog, error) {
	l.readMu.RLock()
	defer l.readMu.RUnlock()
	if l.dbClosed {
		return nil, ErrEventLogClosed
	}
	switch _, err := get(l.db, sendLogMovedKey); {
	case errors.Is(err, pebble.ErrNotFound):
		if err := moveSendLog(store.db, l.db); err != nil {
			return nil, fmt.Errorf("move the send log into the event log: %w", err)
		}
	case err != nil:
		return nil, err
	}
	return &SendLog{db: l.db, write: pebble.NoSync, log: l}, nil
}

// moveSendLog copies every reservation of from into to, marks to as
// holding the send log, then drops them from from.
func moveSendLog(from, to *pebble.DB) error {
	lower := []byte("s/")
	upper := prefixEnd(lower)
	it, err := from.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	b := to.NewBatch()
	defer b.Close()
	for it.First(); it.Valid(); it.Next() {
		if err := b.Set(it.Key(), it.Value(), nil); err != nil {
			_ = it.Close()
			return err
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return err
	}
	if err := b.Set(sendLogMovedKey, nil, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	return from.DeleteRange(lower, upper, pebble.Sync)
}
