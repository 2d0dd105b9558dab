package embedded

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// DB is the embedded on-disk store: one Pebble database whose key space is
// split by prefix into views ("v/"), accounts ("a/"), the send log ("s/"),
// the shard catalog ("c/") and last-seen times ("p/").
// Writes that acknowledge something to a client are synced to disk before
// they return. Safe for concurrent use.
type DB struct {
	db *pebble.DB

	catalogOnce sync.Once
	catalog     *Catalog
	viewsOnce   sync.Once
	views       *Views
	presOnce    sync.Once
	presence    *Presence
}

// storeOptions are the Pebble options of the store: Bloom filters on every
// level (most applies look up keys that do not exist yet, such as a new
// message's row, and without a filter each such lookup reads blocks of
// every level), a block cache and memtables sized for a server rather than
// Pebble's library defaults (8 MB, 4 MB).
func storeOptions() *pebble.Options {
	o := &pebble.Options{Logger: quietLogger{}, CacheSize: 128 << 20, MemTableSize: 32 << 20}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return o
}

// Open opens (creating if needed) the store in dir.
func Open(dir string) (*DB, error) {
	db, err := pebble.Open(dir, storeOptions())
	if err != nil {
		return nil, fmt.Errorf("open pebble store %s: %w", dir, err)
	}
	return &DB{db: db}, nil
}

// OpenInMemory opens a store that lives in memory only (tests).
func OpenInMemory() (*DB, error) {
	o := storeOptions()
	o.FS, o.CacheSize, o.MemTableSize = vfs.NewMem(), 8<<20, 4<<20
	db, err := pebble.Open("", o)
	if err != nil {
		return nil, fmt.Errorf("open in-memory pebble store: %w", err)
	}
	return &DB{db: db}, nil
}

// Close flushes and closes the store.
func (d *DB) Close() error { return d.db.Close() }

// Ping reports whether the store answers reads.
func (d *DB) Ping() error {
	_, err := d.get([]byte("a/ping"))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil
	}
	return err
}

// Views returns the view store (one per DB: its apply lock and row cache
// must be the only ones over these rows).
func (d *DB) Views() *Views {
	d.viewsOnce.Do(func() { d.views = newViews(d.db) })
	return d.views
}

// Presence returns the presence store (one per DB: its connection marks
// live in memory).
func (d *DB) Presence() *Presence {
	d.presOnce.Do(func() { d.presence = newPresence(d.db) })
	return d.presence
}

// Accounts returns the account store.
func (d *DB) Accounts() *Accounts { return &Accounts{db: d.db} }

// SendLog returns the send log (client_msg_id reservations).
func (d *DB) SendLog() *SendLog { return &SendLog{db: d.db} }

// get returns a copy of the value at key, or pebble.ErrNotFound.
func (d *DB) get(key []byte) ([]byte, error) { return get(d.db, key) }

type getter interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

func get(g getter, key []byte) ([]byte, error) {
	v, closer, err := g.Get(key)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	return out, closer.Close()
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// quietLogger drops Pebble's informational chatter; errors surface through
// returned errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
