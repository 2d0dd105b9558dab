package projections

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/tidings-chat/tidings/domain"
)

var _ Store = (*Router)(nil)

// StoreOpener opens the view store of a placement. The Router calls it
// once per placement and keeps the store.
type StoreOpener func(ctx context.Context, placement string) (Store, error)

// Router is the view store of a sharded deployment: it sends each user's
// rows to the store of the placement that the catalog names for the user's
// virtual shard, and records positions in a home store. Writes hold the
// shard's catalog entry (Catalog.AcquireWrite), so a shard move can fence
// them, and record positions only past the fencing token
// (Catalog.CheckFence). Safe for concurrent use.
type Router struct {
	catalog *Catalog
	open    StoreOpener
	home    Store

	mu     sync.Mutex
	stores map[string]Store
}

// NewRouter returns a router over catalog. home keeps the applied
// positions; it is usually the default placement's store.
func NewRouter(catalog *Catalog, open StoreOpener, home Store) *Router {
	return &Router{catalog: catalog, open: open, home: home, stores: map[string]Store{}}
}

// Store returns the store of placement, opening it on first use.
func (r *Router) Store(ctx context.Context, placement string) (Store, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.stores[placement]; ok {
		return s, nil
	}
	s, err := r.open(ctx, placement)
	if err != nil {
		return nil, fmt.Errorf("open placement %s: %w", placement, err)
	}
	r.stores[placement] = s
	return s, nil
}

func (r *Router) reader(ctx context.Context, user domain.UserID) (Store, error) {
	p, err := r.catalog.ReadPlacement(user)
	if err != nil {
		return nil, err
	}
	return r.Store(ctx, p)
}

// Message implements Reader.
func (r *Router) Message(ctx context.Context, user domain.UserID, id domain.MessageID) (domain.Message, error) {
	s, err := r.reader(ctx, user)
	if err != nil {
		return domain.Message{}, err
	}
	return s.Message(ctx, user, id)
}

// Unread implements Reader.
func (r *Router) Unread(ctx context.Context, user domain.UserID, p Page) ([]domain.Message, []byte, error) {
	s, err := r.reader(ctx, user)
	if err != nil {
		return nil, nil, err
	}
	return s.Unread(ctx, user, p)
}

// Conversations implements Reader.
func (r *Router) Conversations(ctx context.Context, user domain.UserID, p Page) ([]Conversation, []byte, error) {
	s, err := r.reader(ctx, user)
	if err != nil {
		return nil, nil, err
	}
	return s.Conversations(ctx, user, p)
}

// History implements Reader.
func (r *Router) History(ctx context.Context, user, peer domain.UserID, p Page) ([]domain.Message, []byte, error) {
	s, err := r.reader(ctx, user)
	if err != nil {
		return nil, nil, err
	}
	return s.History(ctx, user, peer, p)
}

// Feed implements Reader.
func (r *Router) Feed(ctx context.Context, user domain.UserID, after domain.Position, limit int) ([]FeedItem, error) {
	s, err := r.reader(ctx, user)
	if err != nil {
		return nil, err
	}
	return s.Feed(ctx, user, after, limit)
}

// FeedKept implements Reader.
func (r *Router) FeedKept(ctx context.Context, user domain.UserID, after domain.Position) (bool, error) {
	s, err := r.reader(ctx, user)
	if err != nil {
		return false, err
	}
	return s.FeedKept(ctx, user, after)
}

// ApplyBatch implements Store. It holds the catalog entries of every shard
// the batch writes (taken in shard order), sends each user's changes to
// the placement of the user's shard, makes the other placements' writes
// durable, and then applies the home placement's share together with the
// positions, so a recorded position never covers a write that could be
// lost.
func (r *Router) ApplyBatch(ctx context.Context, changes []Change, positions map[int32]int64) ([]FeedItem, error) {
	users := map[int]domain.UserID{}
	for _, c := range changes {
		users[domain.ShardOf(c.User)] = c.User
	}
	if len(positions) > 0 {
		// The fencing token, before any shard entry is held: a process
		// that missed a shard's fence (its lease ran out unnoticed) must
		// not record these events as applied, or the shard's new
		// placement would never get them.
		if err := r.catalog.CheckFence(ctx); err != nil {
			return nil, err
		}
	}
	shards := slices.Sorted(maps.Keys(users))
	placement := make(map[int]string, len(shards))
	for _, id := range shards {
		p, release, err := r.catalog.AcquireWrite(ctx, users[id])
		if err != nil {
			return nil, err
		}
		defer release()
		placement[id] = p
	}

	byStore := map[Store][]Change{}
	var order []Store
	for _, c := range changes {
		s, err := r.Store(ctx, placement[domain.ShardOf(c.User)])
		if err != nil {
			return nil, err
		}
		if _, ok := byStore[s]; !ok {
			order = append(order, s)
		}
		byStore[s] = append(byStore[s], c)
	}
	var fed []FeedItem
	for _, s := range order {
		if s == r.home {
			continue
		}
		items, err := s.ApplyBatch(ctx, byStore[s], nil)
		if err != nil {
			return nil, err
		}
		if err := s.Flush(ctx); err != nil {
			return nil, err
		}
		fed = append(fed, items...)
	}
	items, err := r.home.ApplyBatch(ctx, byStore[r.home], positions)
	if err != nil {
		return nil, err
	}
	return append(fed, items...), nil
}

// RecordPosition implements Store: it makes the writes of every placement
// durable, then records pos in the home store.
func (r *Router) RecordPosition(ctx context.Context, pos domain.Position) error {
	if err := r.catalog.CheckFence(ctx); err != nil {
		return err
	}
	if err := r.Flush(ctx); err != nil {
		return err
	}
	return r.home.RecordPosition(ctx, pos)
}

// Flush implements Store: it flushes every store opened so far.
func (r *Router) Flush(ctx context.Context) error {
	r.mu.Lock()
	stores := make([]Store, 0, len(r.stores)+1)
	stores = append(stores, r.home)
	for _, s := range r.stores {
		stores = append(stores, s)
	}
	r.mu.Unlock()
	var errs []error
	for _, s := range stores {
		errs = append(errs, s.Flush(ctx))
	}
	return errors.Join(errs...)
}

// AppliedPositions implements Store (from the home store).
func (r *Router) AppliedPositions(ctx context.Context) (map[int32]int64, error) {
	return r.home.AppliedPositions(ctx)
}

// Resume implements Resumer: every store opened so far that is a
// Resumer resumes (one opened later learns what it needs as it opens).
func (r *Router) Resume(ctx context.Context) error {
	r.mu.Lock()
	stores := []Store{r.home}
	for _, s := range r.stores {
		if s != r.home {
			stores = append(stores, s)
		}
	}
	r.mu.Unlock()
	var errs []error
	for _, s := range stores {
		if rs, ok := s.(Resumer); ok {
			errs = append(errs, rs.Resume(ctx))
		}
	}
	return errors.Join(errs...)
}

// Reset implements Store: it empties the home store and the store of every
// placement the catalog names.
func (r *Router) Reset(ctx context.Context) error {
	seen := map[string]bool{}
	var errs []error
	errs = append(errs, r.home.Reset(ctx))
	for _, sh := range r.catalog.Shards() {
		for _, p := range []string{sh.Placement, sh.Target} {
			if p == "" || seen[p] {
				continue
			}
			seen[p] = true
			s, err := r.Store(ctx, p)
			if err == nil && s != r.home {
				err = s.Reset(ctx)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
