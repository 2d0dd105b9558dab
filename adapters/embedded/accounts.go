package embedded

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

var _ commands.Accounts = (*Accounts)(nil)

// Accounts keeps users under "a/u/<id>", the name index under "a/n/<name>"
// and token hashes under "a/t/<hex hash>". Safe for concurrent use.
type Accounts struct {
	db *pebble.DB
	mu sync.Mutex // serialises name uniqueness checks
}

type userRecord struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateUser implements commands.Accounts.
func (a *Accounts) CreateUser(_ context.Context, u domain.User, token commands.TokenHash) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	nameKey := []byte("a/n/" + u.Name)
	if _, err := get(a.db, nameKey); err == nil {
		return commands.ErrNameTaken
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("check name: %w", err)
	}
	rec, err := json.Marshal(userRecord{ID: string(u.ID), Name: u.Name, CreatedAt: u.CreatedAt})
	if err != nil {
		return err
	}
	b := a.db.NewBatch()
	defer b.Close()
	_ = b.Set([]byte("a/u/"+string(u.ID)), rec, nil)
	_ = b.Set(nameKey, []byte(u.ID), nil)
	_ = b.Set([]byte("a/t/"+hex.EncodeToString(token[:])), []byte(u.ID), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store user %s: %w", u.ID, err)
	}
	return nil
}

// UserByToken implements commands.Accounts.
func (a *Accounts) UserByToken(ctx context.Context, token commands.TokenHash) (domain.User, error) {
	id, err := get(a.db, []byte("a/t/"+hex.EncodeToString(token[:])))
	if errors.Is(err, pebble.ErrNotFound) {
		return domain.User{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("read token: %w", err)
	}
	return a.User(ctx, domain.UserID(id))
}

// User implements commands.Accounts.
func (a *Accounts) User(_ context.Context, id domain.UserID) (domain.User, error) {
	v, err := get(a.db, []byte("a/u/"+string(id)))
	if errors.Is(err, pebble.ErrNotFound) {
		return domain.User{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("read user %s: %w", id, err)
	}
	var rec userRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return domain.User{}, fmt.Errorf("decode user %s: %w", id, err)
	}
	return domain.User{ID: domain.UserID(rec.ID), Name: rec.Name, CreatedAt: rec.CreatedAt}, nil
}

// UserByName implements commands.Accounts.
func (a *Accounts) UserByName(ctx context.Context, name string) (domain.User, error) {
	id, err := get(a.db, []byte("a/n/"+name))
	if errors.Is(err, pebble.ErrNotFound) {
		return domain.User{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("read name: %w", err)
	}
	return a.User(ctx, domain.UserID(id))
}
