package projections

import (
	"context"
	"fmt"

	"github.com/tidings-chat/tidings/domain"
)

// VersionReader answers the version history of edited messages (issue 12).
// Both view stores implement it.
type VersionReader interface {
	// Versions returns the texts message id had, oldest first, as user
	// sees it: one version for a message never edited, none for a message
	// deleted for everyone (a delete removes its history), and
	// domain.ErrNotFound when user is not a party or hid it.
	Versions(ctx context.Context, user domain.UserID, id domain.MessageID) ([]domain.MessageVersion, error)
}

// The rules every view store follows for the edit and delete events (the
// contract suite checks them on each):
//
//   - MessageEdited replaces the text of both parties' copies, sets Version
//     and EditedAt, and keeps every version, if its Version is above the
//     one held (or equal with a later EditedAt: two edits raced) and the
//     message is not deleted; else it changes nothing.
//   - MessageDeleted makes both copies tombstones: Deleted, DeletedAt, no
//     Text, Version and EditedAt zero, no versions. Listings keep them.
//   - MessageHidden leaves By's history and inbox (an unread message no
//     longer counts) and marks By's copy Hidden; Reader.Message still
//     returns it, marked, and the conversation row shows the newest
//     message By still sees (the row keeps its place in the list), or
//     is left out when By hid all of them.

var _ VersionReader = (*Router)(nil)

// Versions implements VersionReader: it asks the store of user's shard,
// which must implement VersionReader.
func (r *Router) Versions(ctx context.Context, user domain.UserID, id domain.MessageID) ([]domain.MessageVersion, error) {
	s, err := r.reader(ctx, user)
	if err != nil {
		return nil, err
	}
	vr, ok := s.(VersionReader)
	if !ok {
		return nil, fmt.Errorf("views store %T keeps no versions", s)
	}
	return vr.Versions(ctx, user, id)
}
