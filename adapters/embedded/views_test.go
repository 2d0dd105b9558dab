package embedded_test

import (
	"sync"
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
	// open is a store's database and its directory; Reopen closes the one
	// and opens the other again, as a restarted process does.
	type open struct {
		dir string
		db  *embedded.DB
	}
	var (
		mu    sync.Mutex
		opens = map[projections.Store]*open{}
	)
	reopen := func(t *testing.T, s projections.Store) projections.Store {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		o := opens[s]
		if err := o.db.Close(); err != nil {
			t.Fatal(err)
		}
		db, err := embedded.Open(o.dir)
		if err != nil {
			t.Fatal(err)
		}
		o.db = db
		opens[db.Views()] = o
		return db.Views()
	}
	contract.TestViewsWith(t, contract.ViewsFeatures{ExpireFeed: func(t *testing.T, s projections.Store, u domain.UserID, before domain.Position) {
		t.Helper()
		if err := s.(*embedded.Views).DropFeedBefore(u, before); err != nil {
			t.Fatal(err)
		}
	}, Reopen: reopen}, func(t *testing.T) projections.Store {
		o := &open{dir: t.TempDir()}
		db, err := embedded.Open(o.dir)
		if err != nil {
			t.Fatal(err)
		}
		o.db = db
		t.Cleanup(func() {
			mu.Lock()
			defer mu.Unlock()
			_ = o.db.Close()
		})
		mu.Lock()
		defer mu.Unlock()
		opens[db.Views()] = o
		return db.Views()
	})
}
