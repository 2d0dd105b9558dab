package cassandra

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// bucketOf is the month bucket of t: 202601 for January 2026 (UTC). Every
// time-bucketed partition key uses it, so a partition holds at most one
// month of one user's (or one conversation's) messages.
func bucketOf(t time.Time) int {
	t = t.UTC()
	return t.Year()*100 + int(t.Month())
}

// crockfordValue maps a Crockford base32 digit to its value; -1 elsewhere.
var crockfordValue = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i, c := range "0123456789ABCDEFGHJKMNPQRSTVWXYZ" {
		v[c] = int8(i)
	}
	return v
}()

// idTime returns the creation time encoded in a message ID: its first ten
// base32 digits are the 48-bit Unix millisecond prefix of the ULID layout
// (see domain.NewID). ok is false when id does not have that layout.
func idTime(id domain.MessageID) (t time.Time, ok bool) {
	if !domain.ValidID(string(id)) {
		return time.Time{}, false
	}
	var ms int64
	for i := 0; i < 10; i++ {
		ms = ms<<5 | int64(crockfordValue[id[i]])
	}
	return time.UnixMilli(ms).UTC(), true
}

// idBucket is the bucket of the messages row of id. Message lookups by ID
// need nothing else to find the partition.
func idBucket(id domain.MessageID) (int, error) {
	t, ok := idTime(id)
	if !ok {
		return 0, fmt.Errorf("message id %q is not a time-ordered id", id)
	}
	return bucketOf(t), nil
}

// Write timestamps. Cassandra keeps, per cell, the value written with the
// highest timestamp (a deletion wins a tie), so choosing timestamps from
// the event instead of the clock makes every write idempotent and its
// outcome independent of arrival order:
//
//   - tsSent (the send time in µs) for everything MessageSent writes. A
//     conversation's last_at/last_id therefore end up holding the newest
//     message (on equal times the greater ID wins, like the embedded store).
//   - tsRead (one µs later) for what MessageRead deletes: the unread row and
//     the ID in the unread sets. It beats the MessageSent write whatever the
//     order, so a redelivered MessageSent never makes a message unread again.
//   - tsFirst for delivered_at and read_at: the earlier the time, the higher
//     the timestamp, so the first delivery (or read) is kept and a late one
//     is ignored. It never exceeds tsSent, so tsRead also removes them.
func tsSent(sentAt time.Time) int64 { return sentAt.UnixMicro() }

func tsRead(sentAt time.Time) int64 { return sentAt.UnixMicro() + 1 }

// tsFirst is the timestamp of a delivered_at or read_at cell set to at.
// Times before the send time (clock skew) count as the send time.
func tsFirst(sentAt, at time.Time) int64 {
	base := sentAt.UnixMicro()
	return base - max(0, at.UnixMicro()-base)
}

// Cursor kinds: a cursor of one query is refused by the others.
const (
	cursorUnread        byte = 'u'
	cursorHistory       byte = 'h'
	cursorConversations byte = 'c'
)

// cursor is a position in a time-ordered listing: the time and the key
// (message ID, or peer for conversations) of the last row of a page.
type cursor struct {
	at  time.Time
	key string
}

// encode renders c as kind, then 8 bytes of big-endian Unix milliseconds,
// then the key. The layout is stable: clients may hold cursors across
// restarts and deploys.
func (c cursor) encode(kind byte) []byte {
	b := make([]byte, 0, 9+len(c.key))
	b = append(b, kind)
	b = binary.BigEndian.AppendUint64(b, uint64(c.at.UnixMilli()))
	return append(b, c.key...)
}

// maxCursorMilli bounds a cursor's time: the end of year 9999, whose
// month bucket (999912) fits Cassandra's int. No message is sent later.
var maxCursorMilli = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() - 1

// decodeCursor parses a cursor of kind; nil is the start (ok false). A
// cursor whose time no message can have (before 1970, after 9999) is
// invalid_cursor: its month bucket would overflow the bucket column.
func decodeCursor(kind byte, b []byte) (c cursor, ok bool, err error) {
	if b == nil {
		return cursor{}, false, nil
	}
	bad := domain.Errorf(domain.CodeInvalidCursor, "cursor is malformed or belongs to another listing")
	if len(b) < 10 || b[0] != kind || strings.ContainsRune(string(b[9:]), 0) {
		return cursor{}, false, bad
	}
	ms := int64(binary.BigEndian.Uint64(b[1:9]))
	if ms < 0 || ms > maxCursorMilli {
		return cursor{}, false, bad
	}
	return cursor{at: time.UnixMilli(ms).UTC(), key: string(b[9:])}, true, nil
}

// before reports whether c sorts before d by (time, key).
func (c cursor) before(d cursor) bool {
	if !c.at.Equal(d.at) {
		return c.at.Before(d.at)
	}
	return c.key < d.key
}

// checkLimit refuses page sizes below one.
func checkLimit(limit int) error {
	if limit < 1 {
		return domain.Errorf(domain.CodeInvalidLimit, "limit is %d; it must be at least 1", limit)
	}
	return nil
}
