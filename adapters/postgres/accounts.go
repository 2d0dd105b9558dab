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

// Accounts keeps users in table users (name unique) and the SHA-256 of each
// token in table tokens; a token itself is never stored. Times come back in
// UTC with microsecond precision. Safe for concurrent use.
type Accounts struct {
	pool *pgxpool.Pool
}

// CreateUser implements commands.Accounts: the user and its token hash are
// stored in one transaction, so either both exist or neither does. A name
// in use, even by a creation still in flight, gives commands.ErrNameTaken.
func (a *Accounts) CreateUser(ctx context.Context, u domain.User, token commands.TokenHash) error {
	err := pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO users (id, name, created_at) VALUES ($1, $2, $3)",
			string(u.ID), u.Name, u.CreatedAt); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO tokens (hash, user_id) VALUES ($1, $2)", token[:], string(u.ID))
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
func (a *Accounts) UserByToken(ctx context.Context, token commands.TokenHash) (domain.User, error) {
	u, err := scanUser(a.pool.QueryRow(ctx, `SELECT u.id, u.name, u.created_at
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`, token[:]))
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return domain.User{}, fmt.Errorf("read user by token: %w", err)
	}
	return u, err
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
