package embedded_test

import (
	"testing"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/commands"
)

func TestPresenceContract(t *testing.T) {
	t.Parallel()
	contract.TestPresence(t, func(t *testing.T) contract.PresenceOpener {
		dir := t.TempDir()
		var db *embedded.DB
		t.Cleanup(func() {
			if db != nil {
				_ = db.Close()
			}
		})
		return func() (commands.PresenceStore, commands.Accounts) {
			if db != nil {
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			if db, err = embedded.Open(dir); err != nil {
				t.Fatal(err)
			}
			return db.Presence(), db.Accounts()
		}
	})
}

func TestSettingsContract(t *testing.T) {
	t.Parallel()
	contract.TestSettings(t, func(t *testing.T) commands.Accounts { return openDB(t).Accounts() })
}
