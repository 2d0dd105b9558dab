package embedded_test

import (
	"testing"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

func openDB(t *testing.T) *embedded.DB {
	t.Helper()
	db, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestViewsContract(t *testing.T) {
	t.Parallel()
	contract.TestViewsWith(t, contract.ViewsFeatures{ExpireFeed: func(t *testing.T, s projections.Store, u domain.UserID, before domain.Position) {
		t.Helper()
		if err := s.(*embedded.Views).DropFeedBefore(u, before); err != nil {
			t.Fatal(err)
		}
	}}, func(t *testing.T) projections.Store { return openDB(t).Views() })
}
