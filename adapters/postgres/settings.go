package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

var _ commands.SettingsStore = (*Accounts)(nil)

// Settings implements commands.SettingsStore (columns of table users).
func (a *Accounts) Settings(ctx context.Context, user domain.UserID) (commands.Settings, error) {
	var s commands.Settings
	err := a.pool.QueryRow(ctx, "SELECT hide_last_seen FROM users WHERE id = $1", string(user)).Scan(&s.HideLastSeen)
	if errors.Is(err, pgx.ErrNoRows) {
		return commands.Settings{}, domain.ErrNotFound
	}
	if err != nil {
		return commands.Settings{}, fmt.Errorf("read settings of %s: %w", user, err)
	}
	return s, nil
}

// SetSettings implements commands.SettingsStore.
func (a *Accounts) SetSettings(ctx context.Context, user domain.UserID, s commands.Settings) error {
	tag, err := a.pool.Exec(ctx, "UPDATE users SET hide_last_seen = $2 WHERE id = $1", string(user), s.HideLastSeen)
	if err != nil {
		return fmt.Errorf("store settings of %s: %w", user, err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrNotFound
	}
	return nil
}
