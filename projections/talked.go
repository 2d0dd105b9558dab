package projections

import (
	"context"

	"github.com/tidings-chat/tidings/domain"
)

// Talked returns a function that reports whether a and b have a
// conversation in r's views: one of them has sent the other a message (one
// row of a's history with b). The presence rule uses it
// (commands.PresenceQuery.Talked).
func Talked(r Reader) func(ctx context.Context, a, b domain.UserID) (bool, error) {
	return func(ctx context.Context, a, b domain.UserID) (bool, error) {
		msgs, _, err := r.History(ctx, a, b, Page{Limit: 1})
		if err != nil {
			return false, err
		}
		return len(msgs) > 0, nil
	}
}
