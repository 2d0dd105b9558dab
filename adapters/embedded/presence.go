package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

var _ commands.PresenceStore = (*Presence)(nil)

// Presence is the embedded PresenceStore. Last-seen times are kept on
// disk under "p/l/<user id>" (Unix milliseconds, 8 bytes big-endian);
// nodes' beats and connection marks live in memory only, which is enough
// for the one process that owns an embedded store: after a restart nobody
// is online, and everyone's last seen is what was recorded last (a user
// connected through a crash keeps the time they connected). Safe for
// concurrent use. Deleting a user (Accounts.DeleteUser) deletes their last
// seen, and marks of users that do not exist are not kept.
type Presence struct {
	db *pebble.DB

	mu    sync.Mutex // guards the maps and orders last-seen writes
	beats map[string]time.Time
	swept map[string]bool // nodes whose death Sweep returned, until they beat again
	conns map[domain.UserID]map[string]struct{}
}

func newPresence(db *pebble.DB) *Presence {
	return &Presence{db: db, beats: map[string]time.Time{}, swept: map[string]bool{}, conns: map[domain.UserID]map[string]struct{}{}}
}

func lastSeenKey(u domain.UserID) []byte { return []byte("p/l/" + string(u)) }

// Beat implements commands.PresenceStore.
func (p *Presence) Beat(_ context.Context, node string, at time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if at.After(p.beats[node]) {
		p.beats[node] = at
		delete(p.swept, node)
	}
	return nil
}

// Sweep implements commands.PresenceStore.
func (p *Presence) Sweep(_ context.Context, now time.Time) ([]commands.Gone, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	dead := map[string]time.Time{}
	for node, beat := range p.beats {
		if now.Sub(beat) >= commands.PresenceNodeTTL && !p.swept[node] {
			dead[node] = beat
			p.swept[node] = true
		}
	}
	if len(dead) == 0 {
		return nil, nil
	}
	var out []commands.Gone
	for user, nodes := range p.conns {
		var at time.Time
		hit, live := false, false
		for node := range nodes {
			if beat, ok := dead[node]; ok {
				hit = true
				if beat.After(at) {
					at = beat
				}
			} else if beat, ok := p.beats[node]; ok && now.Sub(beat) < commands.PresenceNodeTTL {
				live = true
			}
		}
		if !hit {
			continue
		}
		if ok, err := p.exists(user); err != nil {
			return nil, err
		} else if !ok {
			continue // deleted: nothing to tell
		}
		if err := p.raiseLocked(user, at); err != nil {
			return nil, err
		}
		if live {
			continue
		}
		last, err := p.lastLocked(user)
		if err != nil {
			return nil, err
		}
		out = append(out, commands.Gone{User: user, LastSeen: last})
	}
	return out, nil
}

// exists reports whether user has an account: marks of users that do
// not (deleted while a mark was on its way) are not kept.
func (p *Presence) exists(user domain.UserID) (bool, error) {
	_, err := get(p.db, []byte("a/u/"+string(user)))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read user %s: %w", user, err)
	}
	return true, nil
}

// Online implements commands.PresenceStore.
func (p *Presence) Online(_ context.Context, node string, user domain.UserID, at time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok, err := p.exists(user); !ok || err != nil {
		return err
	}
	set := p.conns[user]
	if set == nil {
		set = map[string]struct{}{}
		p.conns[user] = set
	}
	set[node] = struct{}{}
	return p.raiseLocked(user, at)
}

// Offline implements commands.PresenceStore.
func (p *Presence) Offline(_ context.Context, node string, user domain.UserID, at time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if set := p.conns[user]; set != nil {
		delete(set, node)
		if len(set) == 0 {
			delete(p.conns, user)
		}
	}
	return p.raiseLocked(user, at)
}

// Presence implements commands.PresenceStore.
func (p *Presence) Presence(_ context.Context, user domain.UserID, now time.Time) (bool, time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok, err := p.exists(user); !ok || err != nil {
		return false, time.Time{}, err // a deleted user's connections do not count
	}
	last, err := p.lastLocked(user)
	if err != nil {
		return false, time.Time{}, err
	}
	online := false
	for node := range p.conns[user] {
		beat := p.beats[node]
		if now.Sub(beat) < commands.PresenceNodeTTL {
			online = true
		} else if beat.After(last) {
			last = beat // a dead node: last seen at its last beat
		}
	}
	return online, last, nil
}

// raiseLocked stores at as user's last seen unless a later one is stored.
func (p *Presence) raiseLocked(user domain.UserID, at time.Time) error {
	if ok, err := p.exists(user); !ok || err != nil {
		return err
	}
	last, err := p.lastLocked(user)
	if err != nil {
		return err
	}
	if !at.After(last) {
		return nil
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(at.UnixMilli()))
	// Not synced: a crash may lose the last second of last-seen times,
	// which the next connection rewrites anyway.
	if err := p.db.Set(lastSeenKey(user), v[:], pebble.NoSync); err != nil {
		return fmt.Errorf("store last seen of %s: %w", user, err)
	}
	return nil
}

func (p *Presence) lastLocked(user domain.UserID) (time.Time, error) {
	v, err := get(p.db, lastSeenKey(user))
	if errors.Is(err, pebble.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read last seen of %s: %w", user, err)
	}
	if len(v) != 8 {
		return time.Time{}, fmt.Errorf("read last seen of %s: %w", user, errCorruptRow)
	}
	return time.UnixMilli(int64(binary.BigEndian.Uint64(v))).UTC(), nil
}
