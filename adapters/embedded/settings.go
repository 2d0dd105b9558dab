package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

var _ commands.SettingsStore = (*Accounts)(nil)

// settingsRecord is a user's settings under "a/s/<id>"; absent: the zero
// Settings. New fields must default to their zero value.
type settingsRecord struct {
	HideLastSeen bool `json:"hide_last_seen,omitempty"`
}

func settingsKey(id domain.UserID) []byte { return []byte("a/s/" + string(id)) }

// Settings implements commands.SettingsStore.
func (a *Accounts) Settings(_ context.Context, user domain.UserID) (commands.Settings, error) {
	if _, err := a.user(user); err != nil {
		return commands.Settings{}, err
	}
	v, err := get(a.db, settingsKey(user))
	if errors.Is(err, pebble.ErrNotFound) {
		return commands.Settings{}, nil
	}
	if err != nil {
		return commands.Settings{}, fmt.Errorf("read settings of %s: %w", user, err)
	}
	var rec settingsRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return commands.Settings{}, fmt.Errorf("decode settings of %s: %w", user, err)
	}
	return commands.Settings{HideLastSeen: rec.HideLastSeen}, nil
}

// SetSettings implements commands.SettingsStore.
func (a *Accounts) SetSettings(_ context.Context, user domain.UserID, s commands.Settings) error {
	if _, err := a.user(user); err != nil {
		return err
	}
	v, err := json.Marshal(settingsRecord{HideLastSeen: s.HideLastSeen})
	if err != nil {
		return err
	}
	if err := a.db.Set(settingsKey(user), v, pebble.Sync); err != nil {
		return fmt.Errorf("store settings of %s: %w", user, err)
	}
	return nil
}
