package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// CatalogAdmin changes the shard catalog (operators' tools).
type CatalogAdmin interface {
	CatalogSource
	// UpdateShard changes shard id atomically: fn edits the current entry;
	// the shard's epoch and the catalog version are bumped. It returns the
	// new entry and the new catalog version.
	UpdateShard(ctx context.Context, id int, fn func(*ShardInfo) error) (ShardInfo, int64, error)
	// AddPlacement records a placement; adding an existing one is a no-op.
	AddPlacement(ctx context.Context, id string) error
	// Placements lists the placements recorded, in id order.
	Placements(ctx context.Context) ([]string, error)
	// Checkpoint returns the next offset per partition that a move of
	// shard has copied up to (empty: from the start); SaveCheckpoint
	// stores it; nil offsets delete it.
	Checkpoint(ctx context.Context, shard int) (map[int32]int64, error)
	SaveCheckpoint(ctx context.Context, shard int, next map[int32]int64) error
	// NodesBehind lists the nodes with a live lease that have not yet
	// acknowledged version.
	NodesBehind(ctx context.Context, version int64) ([]string, error)
}

// LogScanner is Scan over the event log: every record from the next
// offsets in from (a partition missing from it: from its start) up to the
// end each partition has when the scan begins, in order within each
// partition; it returns those ends.
type LogScanner func(ctx context.Context, from map[int32]int64, handle BatchHandler, progress Progress) (ends map[int32]int64, err error)

// ScanOf returns the LogScanner of log.
func ScanOf(log Stream) LogScanner {
	return func(ctx context.Context, from map[int32]int64, handle BatchHandler, progress Progress) (map[int32]int64, error) {
		ends, _, err := Scan(ctx, log, from, handle, progress)
		return ends, err
	}
}

// Mover moves virtual shards between placements online.
//
// Protocol. (1) The shard turns "moving" with its target: live writes still
// go to the current placement while the mover fills the target by
// replaying the whole log, keeping only the rows of the shard's users, and
// checkpointing the offsets it has copied. (2) The shard turns "fenced" and
// the mover waits until every live process has acknowledged that catalog
// version; a process acknowledges only after its writes under the old
// entry have finished, and then waits rather than writes for that shard, so
// nothing more reaches the old placement. A process that cannot renew its
// lease stops writing by itself. (3) The mover copies the rest of the log
// (what was appended during step 1) to the target. (4) The shard flips to
// the target, "active". Writers held at the fence resume on the target and
// re-apply, harmlessly, what the copy already wrote. A move interrupted at
// any step resumes from the catalog's state and checkpoint when run again.
// The old placement keeps its copy of the rows until they are purged.
type Mover struct {
	Admin    CatalogAdmin
	Open     StoreOpener
	Scan     LogScanner
	Log      *slog.Logger
	Progress func(step string, done, total int64) // may be nil
	// AckTimeout bounds the wait for processes to acknowledge the fence.
	AckTimeout time.Duration
}

// Move moves shard to placement target, or finishes a move to it that was
// interrupted. A new move's target must be a placement the catalog
// records (Admin.AddPlacement); else Move returns ErrNoPlacement and
// changes nothing.
func (m *Mover) Move(ctx context.Context, shard int, target string) error {
	if shard < 0 || shard >= domain.VirtualShards {
		return fmt.Errorf("shard %d: want 0 to %d", shard, domain.VirtualShards-1)
	}
	info, err := m.shard(ctx, shard)
	if err != nil {
		return err
	}
	switch {
	case info.State == ShardActive && info.Placement == target:
		m.Log.Info("shard already on its target", "shard", shard, "placement", target)
		return nil
	case info.State == ShardActive:
		if err := m.requirePlacement(ctx, target); err != nil {
			return err
		}
		if err := m.Admin.SaveCheckpoint(ctx, shard, map[int32]int64{}); err != nil {
			return err
		}
		if info, _, err = m.Admin.UpdateShard(ctx, shard, func(s *ShardInfo) error {
			if s.State != ShardActive {
				return fmt.Errorf("shard %d changed state to %s meanwhile", shard, s.State)
			}
			s.State, s.Target = ShardMoving, target
			return nil
		}); err != nil {
			return err
		}
	case info.Target != target:
		return fmt.Errorf("shard %d is moving to %q, not %q: abort that move first", shard, info.Target, target)
	}
	dst, err := m.Open(ctx, target)
	if err != nil {
		return fmt.Errorf("open target placement %s: %w", target, err)
	}
	if info.State == ShardMoving {
		if err := m.copy(ctx, shard, dst, "copy"); err != nil {
			return err
		}
		var version int64
		if info, version, err = m.Admin.UpdateShard(ctx, shard, func(s *ShardInfo) error {
			s.State = ShardFenced
			return nil
		}); err != nil {
			return err
		}
		if err := m.waitAcks(ctx, version); err != nil {
			return err
		}
	}
	if info.State == ShardFenced {
		if err := m.copy(ctx, shard, dst, "catch up"); err != nil {
			return err
		}
		if _, _, err = m.Admin.UpdateShard(ctx, shard, func(s *ShardInfo) error {
			s.State, s.Placement, s.Target = ShardActive, target, ""
			return nil
		}); err != nil {
			return err
		}
		if err := m.Admin.SaveCheckpoint(ctx, shard, nil); err != nil {
			return err
		}
	}
	m.Log.Info("shard moved", "shard", shard, "placement", target)
	return nil
}

// ErrNoPlacement is returned by Move for a target placement the catalog
// does not record: a typo must not create a placement (with the real
// stores, a new keyspace) and move data there.
var ErrNoPlacement = errors.New("no such placement")

func (m *Mover) requirePlacement(ctx context.Context, target string) error {
	known, err := m.Admin.Placements(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(known, target) {
		return fmt.Errorf("placement %q: %w (known: %s)", target, ErrNoPlacement, strings.Join(known, ", "))
	}
	return nil
}

// Abort ends a move that has not flipped: the shard stays where it is.
func (m *Mover) Abort(ctx context.Context, shard int) error {
	if _, _, err := m.Admin.UpdateShard(ctx, shard, func(s *ShardInfo) error {
		if s.State == ShardActive {
			return fmt.Errorf("shard %d is not moving", shard)
		}
		s.State, s.Target = ShardActive, ""
		return nil
	}); err != nil {
		return err
	}
	return m.Admin.SaveCheckpoint(ctx, shard, nil)
}

func (m *Mover) shard(ctx context.Context, id int) (ShardInfo, error) {
	_, shards, err := m.Admin.Load(ctx)
	if err != nil {
		return ShardInfo{}, err
	}
	for _, s := range shards {
		if s.ID == id {
			return s, nil
		}
	}
	return ShardInfo{}, fmt.Errorf("shard %d is not in the catalog", id)
}

// copy replays the log from the checkpoint to its current end into dst,
// keeping the rows of shard's users, checkpointing every few seconds.
func (m *Mover) copy(ctx context.Context, shard int, dst Store, step string) error {
	from, err := m.Admin.Checkpoint(ctx, shard)
	if err != nil {
		return err
	}
	var (
		mu   sync.Mutex
		next = maps.Clone(from)
	)
	if next == nil {
		next = map[int32]int64{}
	}
	save := func() error {
		mu.Lock()
		cp := maps.Clone(next)
		mu.Unlock()
		// The checkpoint may only name what the target holds durably.
		if err := dst.Flush(ctx); err != nil {
			return err
		}
		return m.Admin.SaveCheckpoint(ctx, shard, cp)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := save(); err != nil && ctx.Err() == nil {
					m.Log.Warn("save move checkpoint", "shard", shard, "err", err)
				}
			}
		}
	})
	ends, err := m.Scan(ctx, from, func(ctx context.Context, b Batch) error {
		var mine []Change
		for _, c := range ChangesOf(b) {
			if domain.ShardOf(c.User) == shard {
				mine = append(mine, c)
			}
		}
		if len(mine) > 0 {
			if _, err := dst.ApplyBatch(ctx, mine, nil); err != nil {
				return err
			}
		}
		mu.Lock()
		next[b.Partition] = b.Last() + 1
		mu.Unlock()
		return nil
	}, func(done, total int64) {
		if m.Progress != nil {
			m.Progress(step, done, total)
		}
	})
	close(stop)
	wg.Wait()
	if err != nil {
		_ = save()
		return fmt.Errorf("%s shard %d: %w", step, shard, err)
	}
	mu.Lock()
	for p, end := range ends {
		if next[p] < end {
			next[p] = end
		}
	}
	mu.Unlock()
	return save()
}

// waitAcks waits until no live process lags behind version.
func (m *Mover) waitAcks(ctx context.Context, version int64) error {
	timeout := m.AckTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	deadline := time.Now().Add(timeout)
	for {
		behind, err := m.Admin.NodesBehind(ctx, version)
		if err != nil {
			return err
		}
		if len(behind) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v have not acknowledged catalog version %d after %s: %w", behind, version, timeout, errNotAcked)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

var errNotAcked = errors.New("fence not acknowledged; run the move again to retry, or abort it")
