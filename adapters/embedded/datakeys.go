package embedded

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/adapters/datakeys"
	"github.com/tidings-chat/tidings/domain"
)

var _ datakeys.Store = (*Accounts)(nil)

// The data keys of a user's messages are kept beside the user, under
// "a/k/<author>/<peer>", so that DeleteUser erases them with the account.

func dataKeyPrefix(author domain.UserID) []byte { return []byte("a/k/" + string(author) + "/") }

func dataKeyKey(author, peer domain.UserID) []byte {
	return append(dataKeyPrefix(author), peer...)
}

// DataKey implements datakeys.Store.
func (a *Accounts) DataKey(_ context.Context, author, peer domain.UserID, fresh []byte) ([]byte, error) {
	if key, err := get(a.db, dataKeyKey(author, peer)); err == nil {
		return key, nil
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("read data key: %w", err)
	}
	// Under the lock DeleteUser takes: a key is never made for a user
	// being deleted.
	a.mu.Lock()
	defer a.mu.Unlock()
	if key, err := get(a.db, dataKeyKey(author, peer)); err == nil {
		return key, nil
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("read data key: %w", err)
	}
	if _, err := a.user(author); err != nil {
		return nil, err
	}
	if err := a.db.Set(dataKeyKey(author, peer), fresh, pebble.Sync); err != nil {
		return nil, fmt.Errorf("store data key: %w", err)
	}
	return fresh, nil
}

// LookupKey implements datakeys.Store.
func (a *Accounts) LookupKey(_ context.Context, author, peer domain.UserID) ([]byte, error) {
	key, err := get(a.db, dataKeyKey(author, peer))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, domain.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read data key: %w", err)
	}
	return key, nil
}

// DeleteUser implements commands.Accounts: the user, its name and its
// data keys go in one synced batch (its sessions then name no user, which
// UserByToken answers with domain.ErrNotFound; pruning drops them). The
// key range is then compacted, so the keys' bytes leave the store's files
// too, not just its index.
func (a *Accounts) DeleteUser(ctx context.Context, id domain.UserID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec, err := a.user(id)
	if err != nil {
		return err
	}
	b := a.db.NewBatch()
	defer b.Close()
	_ = b.Delete([]byte("a/u/"+string(id)), nil)
	_ = b.Delete([]byte("a/n/"+rec.Name), nil)
	_ = b.Delete(settingsKey(id), nil) // presence and privacy (presence.go, settings.go)
	_ = b.Delete(lastSeenKey(id), nil)
	start := dataKeyPrefix(id)
	end := prefixEnd(start)
	_ = b.DeleteRange(start, end, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	if err := a.db.Compact(ctx, start, end, false); err != nil {
		return fmt.Errorf("compact the data keys of %s away: %w", id, err)
	}
	return nil
}
