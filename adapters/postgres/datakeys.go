package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tidings-chat/tidings/adapters/datakeys"
	"github.com/tidings-chat/tidings/domain"
)

var _ datakeys.Store = (*Accounts)(nil)

// DataKey implements datakeys.Store with one statement: the insert does
// nothing when a key exists, and the key that is there comes back either
// way (or, racing another caller, from a second look). A user that does
// not exist violates data_keys_author_fkey.
func (a *Accounts) DataKey(ctx context.Context, author, peer domain.UserID, fresh []byte) ([]byte, error) {
	var key []byte
	err := a.pool.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO data_keys (author, peer, key) VALUES ($1, $2, $3)
			ON CONFLICT (author, peer) DO NOTHING RETURNING key)
		SELECT key FROM ins UNION ALL SELECT key FROM data_keys WHERE author = $1 AND peer = $2
		LIMIT 1`, string(author), string(peer), fresh).Scan(&key)
	if isForeignKeyViolation(err, "data_keys_author_fkey") {
		return nil, domain.ErrNotFound
	}
	if errors.Is(err, pgx.ErrNoRows) {
		// Another caller's key committed after this statement's snapshot
		// was taken: the insert saw it, the select did not. A new
		// statement sees it.
		return a.LookupKey(ctx, author, peer)
	}
	if err != nil {
		return nil, fmt.Errorf("data key of %s: %w", author, err)
	}
	return key, nil
}

// LookupKey implements datakeys.Store.
func (a *Accounts) LookupKey(ctx context.Context, author, peer domain.UserID) ([]byte, error) {
	var key []byte
	err := a.pool.QueryRow(ctx, "SELECT key FROM data_keys WHERE author = $1 AND peer = $2",
		string(author), string(peer)).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("data key of %s: %w", author, err)
	}
	return key, nil
}

// DeleteUser implements commands.Accounts with one statement: its
// sessions (tokens) and data keys go with it (ON DELETE CASCADE).
func (a *Accounts) DeleteUser(ctx context.Context, id domain.UserID) error {
	tag, err := a.pool.Exec(ctx, "DELETE FROM users WHERE id = $1", string(id))
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrNotFound
	}
	return nil
}
