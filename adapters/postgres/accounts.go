package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

var _ commands.Accounts = (*Accounts)(nil)

// Accounts keeps users (with their password hashes) in table users (name
// unique) and each session in table tokens, under the SHA-256 of its token;
// a token itself is never stored. Times come back in UTC with microsecond
// precision. Safe for concurrent use.
type Accounts struct {
	pool *pgxpool.Pool
}

// CreateUser implements commands.Accounts: the user and its first session
// are stored in one transaction, so either both exist or neither does. A
// name in use, even by a creation still in flight, gives
// commands.ErrNameTaken.
func (a *Accounts) CreateUser(ctx context.Context, u domain.User, password []byte, first commands.Session) error {
	var pw *string
	if password != nil {
		s := string(password)
		pw = &s
	}
	err := pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO users (id, name, created_at, password_hash) VALUES ($1, $2, $3, $4)",
			string(u.ID), u.Name, u.CreatedAt, pw); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
			first.Token[:], string(u.ID), first.CreatedAt, first.ExpiresAt)
		return err
	})
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err, "users_name_key"):
		return commands.ErrNameTaken
	default:
		return fmt.Errorf("store user %s: %w", u.ID, err)
	}
}

// UserByToken implements commands.Accounts.
func (a *Accounts) UserByToken(ctx context.Context, token commands.TokenHash) (domain.User, commands.Session, error) {
	var (
		id, name                  string
		created, tCreated, expire time.Time
	)
	err := a.pool.QueryRow(ctx, `SELECT u.id, u.name, u.created_at, t.created_at, t.expires_at
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`, token[:]).Scan(&id, &name, &created, &tCreated, &expire)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.User{}, commands.Session{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.User{}, commands.Session{}, fmt.Errorf("read user by token: %w", err)
	}
	u := domain.User{ID: domain.UserID(id), Name: name, CreatedAt: created.UTC()}
	return u, commands.Session{Token: token, User: u.ID, CreatedAt: tCreated.UTC(), ExpiresAt: expire.UTC()}, nil
}

// CreateSession implements commands.Accounts.
func (a *Accounts) CreateSession(ctx context.Context, s commands.Session) error {
	_, err := a.pool.Exec(ctx, "INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
		s.Token[:], string(s.User), s.CreatedAt, s.ExpiresAt)
	if isForeignKeyViolation(err, "tokens_user_id_fkey") {
		return domain.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store session of %s: %w", s.User, err)
	}
	return nil
}

// DeleteSession implements commands.Accounts.
func (a *Accounts) DeleteSession(ctx context.Context, token commands.TokenHash) error {
	if _, err := a.pool.Exec(ctx, "DELETE FROM tokens WHERE hash = $1", token[:]); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// PruneSessions deletes sessions that expired before cutoff and returns
// how many.
func (a *Accounts) PruneSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := a.pool.Exec(ctx, "DELETE FROM tokens WHERE expires_at < $1", cutoff)
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// PasswordHash implements commands.Accounts.
func (a *Accounts) PasswordHash(ctx context.Context, id domain.UserID) ([]byte, error) {
	var pw *string
	err := a.pool.QueryRow(ctx, "SELECT password_hash FROM users WHERE id = $1", string(id)).Scan(&pw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read password of %s: %w", id, err)
	}
	if pw == nil {
		return nil, nil
	}
	return []byte(*pw), nil
}

// User implements commands.Accounts.
func (a *Accounts) User(ctx context.Context, id domain.UserID) (domain.User, error) {
	u, err := scanUser(a.pool.QueryRow(ctx, "SELECT id, name, created_at FROM users WHERE id = $1", string(id)))
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return domain.User{}, fmt.Errorf("read user %s: %w", id, err)
	}
	return u, err
}

// UserByName implements commands.Accounts.
func (a *Accounts) UserByName(ctx context.Context, name string) (domain.User, error) {
	// No user has a name that breaks the rule; and text cannot hold NUL,
	// which PostgreSQL would answer with an error.
	if domain.ValidateName(name) != nil {
		return domain.User{}, domain.ErrNotFound
	}
	u, err := scanUser(a.pool.QueryRow(ctx, "SELECT id, name, created_at FROM users WHERE name = $1", name))
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return domain.User{}, fmt.Errorf("read user by name: %w", err)
	}
	return u, err
}

// scanUser reads one users row; domain.ErrNotFound when there is none.
func scanUser(row pgx.Row) (domain.User, error) {
	var (
		id, name string
		created  time.Time
	)
	if err := row.Scan(&id, &name, &created); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.User{}, domain.ErrNotFound
		}
		return domain.User{}, err
	}
	return domain.User{ID: domain.UserID(id), Name: name, CreatedAt: created.UTC()}, nil
}
