package cassandra

import (
	"bytes"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// FuzzCassandraCursor: whatever cursor a client sends a Cassandra listing
// (sealed for it or not), opening it gives the start, invalid_cursor, or a
// position whose month bucket fits Cassandra's int and which seals back to
// the same bytes; never a panic. It needs no Cassandra: it runs the
// decoding the queries run before they reach the database. CI runs it for
// a bounded time (.ci/fuzz.sh).
func FuzzCassandraCursor(f *testing.F) {
	const user, peer = domain.UserID("01M8B1QCVA63ES9FVWWAQTKA3Q"), domain.UserID("01M8B1QCVMF1DRTYN159HXJJ7T")
	at := time.Date(2026, 11, 26, 4, 27, 24, 245e6, time.UTC)
	key := "01M8B1QD6N1FB7JWSADHT788G0"
	for _, kind := range []byte{cursorUnread, cursorHistory, cursorConversations} {
		f.Add(kind, cursor{at: at, key: key}.encode(kind), true)
		f.Add(kind, forgedCursor(kind, -1<<63, key), true)
		f.Add(kind, forgedCursor(kind, 1<<62, key), true)
		f.Add(kind, []byte{kind}, false)
	}
	f.Fuzz(func(t *testing.T, kind byte, inner []byte, seal bool) {
		if _, ok := listingKinds[kind]; !ok {
			kind = cursorUnread
		}
		l := listing{kind: kind, user: user}
		if kind == cursorHistory {
			l.peer = peer
		}
		b := inner
		if seal {
			b = domain.SealCursor(listingKinds[kind], l.user, l.peer, inner)
		}
		c, ok, err := l.open(b)
		switch {
		case err != nil:
			if domain.CodeOf(err) != domain.CodeInvalidCursor {
				t.Fatalf("open(%q): %v, not invalid_cursor", b, err)
			}
		case !ok:
			if b != nil {
				t.Fatalf("open(%q) is the start", b)
			}
		default:
			if bk := bucketOf(c.at); bk < 197001 || bk > 999912 {
				t.Fatalf("open(%q) = %v, bucket %d", b, c.at, bk)
			}
			if again := l.seal(c); !bytes.Equal(again, b) {
				t.Fatalf("open(%q) = %+v, which seals to %q", b, c, again)
			}
		}
	})
}
