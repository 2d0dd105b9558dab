package cassandra

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/gocql/gocql"

	"github.com/tidings-chat/tidings/domain"
)

// StoredUnread returns the ids of the unread rows user holds from peer as
// stored (the conversation's unread set, and the pending months' ids of
// user), before the queries leave out what a read marker covers.
func (v *Views) StoredUnread(ctx context.Context, user, peer domain.UserID) (set, pending []string, err error) {
	err = v.session.Query(selectConvUnread, user, peer).WithContext(ctx).Scan(&set)
	if err != nil && !errors.Is(err, gocql.ErrNotFound) {
		return nil, nil, err
	}
	iter := v.session.Query(selectUnreadOfUser, user).WithContext(ctx).Iter()
	var m map[string]time.Time
	for iter.Scan(&m) {
		pending = append(pending, slices.Collect(maps.Keys(m))...)
		m = nil
	}
	slices.Sort(set)
	slices.Sort(pending)
	return set, pending, iter.Close()
}
