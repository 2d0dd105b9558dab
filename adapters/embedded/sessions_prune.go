package embedded

import (
	"context"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/commands"
)

// PruneSessions deletes the sessions that expired before cutoff and
// returns how many. Legacy records (no expiry yet) are kept.
func (a *Accounts) PruneSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	prefix := []byte("a/t/")
	it, err := a.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	var expired [][]byte
	for it.First(); it.Valid() && ctx.Err() == nil; it.Next() {
		s, ok, err := decodeSession(commands.TokenHash{}, it.Value())
		if err == nil && ok && s.ExpiresAt.Before(cutoff) {
			expired = append(expired, append([]byte(nil), it.Key()...))
		}
	}
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	if len(expired) == 0 {
		return 0, ctx.Err()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.db.NewBatch()
	defer b.Close()
	for _, k := range expired {
		_ = b.Delete(k, nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	return int64(len(expired)), nil
}
