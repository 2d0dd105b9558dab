package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// ShardState is where a virtual shard is in its life.
type ShardState string

// Shard states. A move goes active → moving → fenced → active (on the new
// placement).
const (
	// ShardActive: rows are read from and written to Placement.
	ShardActive ShardState = "active"
	// ShardMoving: Target is being filled by replaying the log; live
	// writes still go to Placement.
	ShardMoving ShardState = "moving"
	// ShardFenced: the move's last catch-up is running; nobody writes the
	// shard's rows until the shard flips to Target.
	ShardFenced ShardState = "fenced"
)

// ShardInfo is one virtual shard's entry in the catalog.
type ShardInfo struct {
	ID        int
	Placement string
	State     ShardState
	Target    string // the placement a move is filling; "" when none
	Epoch     int64  // bumped on every change of the shard
}

// CatalogSource is the durable shard catalog a process caches (PostgreSQL,
// or the embedded store).
type CatalogSource interface {
	// Load returns the catalog's version and every shard.
	Load(ctx context.Context) (version int64, shards []ShardInfo, err error)
	// Ack records that node has applied version and holds a lease until
	// now + lease; a move waits for every node with a live lease.
	Ack(ctx context.Context, node string, version int64, lease time.Duration) error
	// Changed is signalled (best effort) when the catalog changes; nil
	// when the source cannot tell (the cache then polls).
	Changed() <-chan struct{}
	// Fence returns the fencing token: the catalog version at which a
	// shard last turned fenced (0: never). It must be linearizable with
	// the update that fenced (a read that begins after that update
	// returns sees it).
	Fence(ctx context.Context) (int64, error)
}

// ErrStaleCatalog is returned by CheckFence when a shard was fenced at a
// catalog version newer than the cached one: the process may have written
// that shard's rows to its old placement after the move's catch-up began,
// so it must not record them as applied; the batch is retried once the
// cache has caught up.
var ErrStaleCatalog = errors.New("catalog cache older than the latest shard fence: not recording positions until it reloads")

// ErrLeaseLost is returned by Acquire when the process could not renew its
// catalog lease in time: it may have missed a fence, so it must not write.
var ErrLeaseLost = errors.New("catalog lease lost: not writing views until the catalog is reachable")

// Catalog is a process's cached copy of the shard catalog. It reloads on
// every change signal and every PollEvery, acknowledging each version it
// applies. Before it acknowledges a version that changes a shard, it waits
// for the writes in flight under the old entry to finish, so after the
// acknowledgement nothing is written under the old entry: that is the
// fence a shard move relies on. Safe for concurrent use.
type Catalog struct {
	src       CatalogSource
	node      string
	pollEvery time.Duration
	lease     time.Duration
	log       *slog.Logger

	mu      sync.RWMutex
	version int64
	shards  map[int]ShardInfo
	renewed time.Time     // last successful load+ack
	changed chan struct{} // closed and replaced on every change

	locks [domain.VirtualShards]sync.RWMutex // held shared by writers

	fence fenceReader
}

// NewCatalog loads the catalog once and returns the cache. Run must then
// run for the cache to follow changes and keep its lease.
func NewCatalog(ctx context.Context, src CatalogSource, node string, log *slog.Logger) (*Catalog, error) {
	if log == nil {
		log = slog.Default()
	}
	c := &Catalog{src: src, node: node, pollEvery: time.Second, lease: 10 * time.Second, log: log,
		shards: map[int]ShardInfo{}, changed: make(chan struct{}), fence: fenceReader{read: src.Fence}}
	if err := c.reload(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Run follows the catalog until ctx ends.
func (c *Catalog) Run(ctx context.Context) {
	tick := time.NewTicker(c.pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-c.src.Changed():
		}
		if err := c.reload(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("catalog reload failed", "err", err)
		}
	}
}

func (c *Catalog) reload(ctx context.Context) error {
	version, shards, err := c.src.Load(ctx)
	if err != nil {
		return fmt.Errorf("load catalog: %w", err)
	}
	c.mu.RLock()
	same := version == c.version
	c.mu.RUnlock()
	if !same {
		next := make(map[int]ShardInfo, len(shards))
		for _, s := range shards {
			next[s.ID] = s
		}
		c.mu.RLock()
		var moved []int
		for id, s := range next {
			if c.shards[id] != s {
				moved = append(moved, id)
			}
		}
		c.mu.RUnlock()
		// Wait for writes in flight under the old entries, then swap. In
		// shard order, as Router.ApplyBatch takes them, so the two never
		// deadlock.
		slices.Sort(moved)
		for _, id := range moved {
			c.locks[id].Lock()
		}
		c.mu.Lock()
		c.version, c.shards = version, next
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
		for _, id := range moved {
			c.locks[id].Unlock()
		}
	}
	// The lease runs from before the acknowledgement: the source starts
	// it no earlier, so this process never believes in a lease the
	// source has let lapse (however long the answer took to arrive).
	acked := time.Now()
	if err := c.src.Ack(ctx, c.node, version, c.lease); err != nil {
		return fmt.Errorf("acknowledge catalog version %d: %w", version, err)
	}
	c.mu.Lock()
	c.renewed = acked
	c.mu.Unlock()
	return nil
}

// Release gives up the lease (on shutdown), so a move need not wait for
// it to run out.
func (c *Catalog) Release(ctx context.Context) error {
	return c.src.Ack(ctx, c.node, c.Version(), 0)
}

// Fresh reports whether the cache renewed its lease recently enough to
// write (readiness).
func (c *Catalog) Fresh() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if time.Since(c.renewed) >= c.lease {
		return ErrLeaseLost
	}
	return nil
}

// Version returns the version of the cached catalog.
func (c *Catalog) Version() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.version
}

// Shard returns the cached entry of shard id.
func (c *Catalog) Shard(id int) (ShardInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.shards[id]
	return s, ok
}

// Shards returns every cached entry.
func (c *Catalog) Shards() []ShardInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]ShardInfo, 0, len(c.shards))
	for _, s := range c.shards {
		out = append(out, s)
	}
	return out
}

// ReadPlacement returns the placement to read user's rows from.
func (c *Catalog) ReadPlacement(user domain.UserID) (string, error) {
	s, ok := c.Shard(domain.ShardOf(user))
	if !ok {
		return "", fmt.Errorf("shard %d of %s is not in the catalog", domain.ShardOf(user), user)
	}
	return s.Placement, nil
}

// AcquireWrite returns the placement to write user's rows to and holds the
// shard's entry until release is called: the catalog does not acknowledge
// a change of that shard while a write is in flight. While the shard is
// fenced it waits for the flip (until ctx ends). Without a fresh lease it
// refuses (ErrLeaseLost): the caller retries later.
func (c *Catalog) AcquireWrite(ctx context.Context, user domain.UserID) (placement string, release func(), err error) {
	id := domain.ShardOf(user)
	for {
		c.locks[id].RLock()
		c.mu.RLock()
		s, ok := c.shards[id]
		fresh := time.Since(c.renewed) < c.lease
		changed := c.changed
		c.mu.RUnlock()
		switch {
		case !ok:
			c.locks[id].RUnlock()
			return "", nil, fmt.Errorf("shard %d is not in the catalog", id)
		case !fresh:
			c.locks[id].RUnlock()
			return "", nil, ErrLeaseLost
		case s.State != ShardFenced:
			return s.Placement, c.locks[id].RUnlock, nil
		}
		c.locks[id].RUnlock()
		select {
		case <-changed:
		case <-time.After(c.pollEvery):
		case <-ctx.Done():
			return "", nil, ctx.Err()
		}
	}
}

// CheckFence returns nil once the cached catalog is at least as new as
// the fencing token (the version of the latest shard fence), waiting a
// little for the cache to catch up, and ErrStaleCatalog if it does not.
// It reads the token after it is called, so a batch checked after it was
// taken from the log, before its writes are routed (it must not hold
// shard entries: the reload it may wait for takes them), passes only if
// every fence its routing could miss was raised after its events were in
// the log, and so before the catch-up of that move began: the catch-up
// copies them, and recording them as applied loses nothing even if this
// process wrote them to the old placement (a process whose lease ran out
// without it noticing, say after a pause). Concurrent calls share reads
// of the token (each waits for one that began after it was called), so it
// costs at most one read in flight per process.
func (c *Catalog) CheckFence(ctx context.Context) error {
	fence, err := c.fence.latest(ctx)
	if err != nil {
		return fmt.Errorf("check the shard fence: %w", err)
	}
	timeout := time.NewTimer(2 * c.pollEvery)
	defer timeout.Stop()
	for {
		c.mu.RLock()
		version, changed := c.version, c.changed
		c.mu.RUnlock()
		if version >= fence {
			return nil
		}
		select {
		case <-changed:
		case <-timeout.C:
			return fmt.Errorf("cached catalog version %d, fence %d: %w", version, fence, ErrStaleCatalog)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// fenceReader reads the fencing token for CheckFence: a caller waits for
// a read that begins after its call; calls during a read share the next.
type fenceReader struct {
	read func(context.Context) (int64, error)

	mu       sync.Mutex
	inflight bool
	next     *fenceRound // the read that begins when the one in flight ends
}

type fenceRound struct {
	done    chan struct{}
	version int64
	err     error
}

func (f *fenceReader) latest(ctx context.Context) (int64, error) {
	f.mu.Lock()
	if !f.inflight { // read now, on the caller's goroutine
		f.inflight = true
		f.mu.Unlock()
		v, err := f.read(ctx)
		f.finish()
		return v, err
	}
	if f.next == nil {
		f.next = &fenceRound{done: make(chan struct{})}
	}
	r := f.next
	f.mu.Unlock()
	select {
	case <-r.done:
		return r.version, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// finish ends the read in flight and starts the round that waited for it,
// if any.
func (f *fenceReader) finish() {
	f.mu.Lock()
	r := f.next
	f.next = nil
	if r == nil {
		f.inflight = false
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r.version, r.err = f.read(ctx)
		cancel()
		close(r.done)
		f.finish()
	}()
}
