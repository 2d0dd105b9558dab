package embedded

import "sync"

// rowCache keeps the message and conversation rows that applies read and
// rewrite, so the apply of a read or a receipt finds the row its send
// wrote moments earlier without seeking Pebble's memtable (in profiles,
// those seeks were the largest cost of an apply). It holds encoded rows
// by key, and remembers keys known to be absent (a nil value). It is
// always consistent with what is committed: applies hold the store's
// apply lock, read through it, and install their rows only after their
// batch has committed. Two generations of at most max entries each: when
// the current one is full it becomes the previous one, whose entries are
// promoted on use, so the memory is bounded (2 × max rows) and the rows in
// use stay. Safe for concurrent use.
type rowCache struct {
	mu        sync.Mutex
	cur, prev map[string][]byte
	max       int
}

// cachedRows is the number of rows per generation: with ~200-byte rows,
// at most ~40 MB per store.
const cachedRows = 100_000

func newRowCache(max int) *rowCache {
	return &rowCache{cur: make(map[string][]byte, 1024), prev: map[string][]byte{}, max: max}
}

// get returns the row at key and whether the cache knows it; a known row
// with a nil value is known to be absent.
func (c *rowCache) get(key []byte) (value []byte, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cur[string(key)]; ok {
		return v, true
	}
	if v, ok := c.prev[string(key)]; ok {
		c.putLocked(string(key), v)
		return v, true
	}
	return nil, false
}

// put records the committed value of key (nil: absent). The caller must
// not modify value afterwards.
func (c *rowCache) put(key string, value []byte) {
	c.mu.Lock()
	c.putLocked(key, value)
	c.mu.Unlock()
}

func (c *rowCache) putLocked(key string, value []byte) {
	if len(c.cur) >= c.max {
		c.prev, c.cur = c.cur, make(map[string][]byte, c.max)
	}
	c.cur[key] = value
}

// clear forgets everything (after the views are reset).
func (c *rowCache) clear() {
	c.mu.Lock()
	c.cur, c.prev = map[string][]byte{}, map[string][]byte{}
	c.mu.Unlock()
}
