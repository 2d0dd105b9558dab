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

// Accounts keeps users (with their password hashes) under "a/u/<id>", the
// name index under "a/n/<name>" and sessions under "a/t/<hex token hash>".
// Safe for concurrent use.
//
// A session stored before sessions expired holds only the user id; the
// first lookup of it gives it LegacySessionLifetime from then on, as the
// PostgreSQL migration 0005 does for its tokens.
type Accounts struct {
	db *pebble.DB
	mu sync.Mutex // serialises name uniqueness checks and session rewrites
}

// LegacySessionLifetime is what a token issued before expiry existed gets
// on its first use after the upgrade.
const LegacySessionLifetime = commands.DefaultSessionLifetime

type userRecord struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Password  []byte    `json:"password,omitempty"` // argon2id PHC string; absent: none
}

type sessionRecord struct {
	User      string    `json:"user"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func tokenKey(h commands.TokenHash) []byte { return []byte("a/t/" + hex.EncodeToString(h[:])) }

func sessionValue(s commands.Session) ([]byte, error) {
	return json.Marshal(sessionRecord{User: string(s.User), CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt})
}

// CreateUser implements commands.Accounts.
func (a *Accounts) CreateUser(_ context.Context, u domain.User, password []byte, first commands.Session) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	nameKey := []byte("a/n/" + u.Name)
	if _, err := get(a.db, nameKey); err == nil {
		return commands.ErrNameTaken
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("check name: %w", err)
	}
	rec, err := json.Marshal(userRecord{ID: string(u.ID), Name: u.Name, CreatedAt: u.CreatedAt, Password: password})
	if err != nil {
		return err
	}
	first.User = u.ID
	sess, err := sessionValue(first)
	if err != nil {
		return err
	}
	b := a.db.NewBatch()
	defer b.Close()
	_ = b.Set([]byte("a/u/"+string(u.ID)), rec, nil)
	_ = b.Set(nameKey, []byte(u.ID), nil)
	_ = b.Set(tokenKey(first.Token), sess, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store user %s: %w", u.ID, err)
	}
	return nil
}

// UserByToken implements commands.Accounts.
func (a *Accounts) UserByToken(ctx context.Context, token commands.TokenHash) (domain.User, commands.Session, error) {
	s, err := a.session(token)
	if err != nil {
		return domain.User{}, commands.Session{}, err
	}
	u, err := a.User(ctx, s.User)
	if err != nil {
		return domain.User{}, commands.Session{}, err
	}
	return u, s, nil
}

// session reads a session, upgrading a legacy record (a bare user id).
func (a *Accounts) session(token commands.TokenHash) (commands.Session, error) {
	v, err := get(a.db, tokenKey(token))
	if errors.Is(err, pebble.ErrNotFound) {
		return commands.Session{}, domain.ErrNotFound
	}
	if err != nil {
		return commands.Session{}, fmt.Errorf("read token: %w", err)
	}
	if s, ok, err := decodeSession(token, v); ok || err != nil {
		return s, err
	}
	return a.upgradeLegacy(token)
}

// upgradeLegacy gives a session stored before expiry existed its
// LegacySessionLifetime from now, unless it was revoked meanwhile.
func (a *Accounts) upgradeLegacy(token commands.TokenHash) (commands.Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, err := get(a.db, tokenKey(token))
	if errors.Is(err, pebble.ErrNotFound) {
		return commands.Session{}, domain.ErrNotFound
	}
	if err != nil {
		return commands.Session{}, fmt.Errorf("read token: %w", err)
	}
	if s, ok, err := decodeSession(token, v); ok || err != nil { // upgraded meanwhile
		return s, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	s := commands.Session{Token: token, User: domain.UserID(v), CreatedAt: now, ExpiresAt: now.Add(LegacySessionLifetime)}
	nv, err := sessionValue(s)
	if err != nil {
		return commands.Session{}, err
	}
	if err := a.db.Set(tokenKey(token), nv, pebble.Sync); err != nil {
		return commands.Session{}, fmt.Errorf("upgrade session: %w", err)
	}
	return s, nil
}

// decodeSession decodes a session record; ok is false for a legacy one.
func decodeSession(token commands.TokenHash, v []byte) (s commands.Session, ok bool, err error) {
	if len(v) == 0 || v[0] != '{' {
		return commands.Session{}, false, nil
	}
	var rec sessionRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return commands.Session{}, false, fmt.Errorf("decode session: %w", err)
	}
	return commands.Session{Token: token, User: domain.UserID(rec.User), CreatedAt: rec.CreatedAt, ExpiresAt: rec.ExpiresAt}, true, nil
}

// CreateSession implements commands.Accounts.
func (a *Accounts) CreateSession(_ context.Context, s commands.Session) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := get(a.db, []byte("a/u/"+string(s.User))); errors.Is(err, pebble.ErrNotFound) {
		return domain.ErrNotFound
	} else if err != nil {
		return fmt.Errorf("read user %s: %w", s.User, err)
	}
	v, err := sessionValue(s)
	if err != nil {
		return err
	}
	if err := a.db.Set(tokenKey(s.Token), v, pebble.Sync); err != nil {
		return fmt.Errorf("store session of %s: %w", s.User, err)
	}
	return nil
}

// DeleteSession implements commands.Accounts.
func (a *Accounts) DeleteSession(_ context.Context, token commands.TokenHash) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.db.Delete(tokenKey(token), pebble.Sync); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// User implements commands.Accounts.
func (a *Accounts) User(_ context.Context, id domain.UserID) (domain.User, error) {
	rec, err := a.user(id)
	if err != nil {
		return domain.User{}, err
	}
	return domain.User{ID: domain.UserID(rec.ID), Name: rec.Name, CreatedAt: rec.CreatedAt}, nil
}

// PasswordHash implements commands.Accounts.
func (a *Accounts) PasswordHash(_ context.Context, id domain.UserID) ([]byte, error) {
	rec, err := a.user(id)
	if err != nil {
		return nil, err
	}
	return rec.Password, nil
}

func (a *Accounts) user(id domain.UserID) (userRecord, error) {
	v, err := get(a.db, []byte("a/u/"+string(id)))
	if errors.Is(err, pebble.ErrNotFound) {
		return userRecord{}, domain.ErrNotFound
	}
	if err != nil {
		return userRecord{}, fmt.Errorf("read user %s: %w", id, err)
	}
	var rec userRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return userRecord{}, fmt.Errorf("decode user %s: %w", id, err)
	}
	return rec, nil
}

// UserByName implements commands.Accounts.
func (a *Accounts) UserByName(ctx context.Context, name string) (domain.User, error) {
	if domain.ValidateName(name) != nil {
		return domain.User{}, domain.ErrNotFound // no user has such a name
	}
	id, err := get(a.db, []byte("a/n/"+name))
	if errors.Is(err, pebble.ErrNotFound) {
		return domain.User{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("read name: %w", err)
	}
	return a.User(ctx, domain.UserID(id))
}
