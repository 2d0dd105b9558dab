package commands

import (
	"sync"

	"github.com/tidings-chat/tidings/domain"
)

// knownUsers remembers user ids the accounts store confirmed lately, so a
// send to a recipient seen a moment ago does not ask the store again (a
// lookup per send was a tenth of a send's cost embedded, and a database
// round trip on PostgreSQL). Accounts are never deleted, so a confirmed
// id stays valid. Two generations of at most max ids each bound its
// memory; safe for concurrent use.
type knownUsers struct {
	mu        sync.Mutex
	cur, prev map[domain.UserID]struct{}
	max       int
}

// knownUsersSize is per generation: ~60 B an entry, ~6 MB at most.
const knownUsersSize = 100_000

func newKnownUsers(max int) *knownUsers {
	return &knownUsers{cur: map[domain.UserID]struct{}{}, prev: map[domain.UserID]struct{}{}, max: max}
}

// has reports whether id was confirmed lately.
func (k *knownUsers) has(id domain.UserID) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
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
		k.prev, k.cur = k.cur, make(map[domain.UserID]struct{}, k.max)
	}
	k.cur[id] = struct{}{}
}
