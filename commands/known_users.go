package commands

import (
	"sync"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// knownUsers remembers user ids the accounts store confirmed lately, so a
// send to a recipient seen a moment ago does not ask the store again (a
// lookup per send was a tenth of a send's cost embedded, and a database
// round trip on PostgreSQL). An account can be deleted (DeleteAccount
// forgets it here at once; other processes within knownUsersFor): a
// generation lasts at most knownUsersFor, so a confirmation is trusted for
// at most twice that. Two generations of at most max ids each bound its
// memory; safe for concurrent use.
type knownUsers struct {
	mu        sync.Mutex
	cur, prev map[domain.UserID]struct{}
	max       int
	since     time.Time // when cur began
	now       func() time.Time
}

// knownUsersFor is how long a generation lasts.
const knownUsersFor = 30 * time.Second

// knownUsersSize is per generation: ~60 B an entry, ~6 MB at most.
const knownUsersSize = 100_000

func newKnownUsers(max int) *knownUsers {
	return &knownUsers{cur: map[domain.UserID]struct{}{}, prev: map[domain.UserID]struct{}{}, max: max,
		since: time.Now(), now: time.Now}
}

// has reports whether id was confirmed lately.
func (k *knownUsers) has(id domain.UserID) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rotateLocked()
	if _, ok := k.cur[id]; ok {
		return true
	}
	if _, ok := k.prev[id]; ok {
		k.addLocked(id)
		return true
	}
	return false
}

// add records that the accounts store confirmed id.
func (k *knownUsers) add(id domain.UserID) {
	k.mu.Lock()
	k.addLocked(id)
	k.mu.Unlock()
}

func (k *knownUsers) addLocked(id domain.UserID) {
	if len(k.cur) >= k.max {
		k.prev, k.cur, k.since = k.cur, make(map[domain.UserID]struct{}), k.now()
	}
	k.cur[id] = struct{}{}
}

// rotateLocked starts a new generation when cur is knownUsersFor old:
// what prev held is forgotten, what it confirmed again moves to cur.
func (k *knownUsers) rotateLocked() {
	if now := k.now(); now.Sub(k.since) >= knownUsersFor {
		k.prev, k.cur, k.since = k.cur, make(map[domain.UserID]struct{}), now
	}
}

// forget drops id (its account was deleted).
func (k *knownUsers) forget(id domain.UserID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.cur, id)
	delete(k.prev, id)
}
