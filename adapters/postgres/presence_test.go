package postgres_test

import (
	"testing"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/adapters/ws"
	"github.com/tidings-chat/tidings/commands"
)

func TestPresenceContract(t *testing.T) {
	t.Parallel()
	serverURL(t)
	contract.TestPresence(t, func(t *testing.T) contract.PresenceOpener {
		connURL := freshSchema(t)
		first := true
		return func() (commands.PresenceStore, commands.Accounts) {
			db := openAt(t, connURL) // a new pool: a restarted node
			if first {
				first = false
				if err := db.Migrate(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			return db.Presence(), db.Accounts()
		}
	})
}

func TestSettingsContract(t *testing.T) {
	t.Parallel()
	serverURL(t)
	contract.TestSettings(t, func(t *testing.T) commands.Accounts { return openDB(t).Accounts() })
}

func TestRelayContract(t *testing.T) {
	t.Parallel()
	serverURL(t)
	contract.TestRelay(t, func(t *testing.T, n int) []ws.Relay {
		connURL := freshSchema(t) // the channel is the schema's: no other test hears these
		rs := make([]ws.Relay, n)
		for i := range rs {
			r, err := openAt(t, connURL).Relay(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			rs[i] = r
		}
		return rs
	})
}
