package domain

import (
	"encoding/binary"
	"hash/fnv"
)

// CursorKind names the listing a pagination cursor belongs to. A cursor
// of one listing is refused by every other (OpenCursor).
type CursorKind byte

// The listings that page with cursors. The values are part of the cursor
// format: never reuse one.
const (
	CursorUnread        CursorKind = 'u' // a user's unread inbox
	CursorHistory       CursorKind = 'h' // a user's history with one peer
	CursorConversations CursorKind = 'c' // a user's conversations
)

// cursorVersion leads every cursor SealCursor makes. Cursors of earlier
// formats (none had it) fail OpenCursor, so clients holding one get
// invalid_cursor and start the listing again.
const cursorVersion = 1

// cursorHead is the envelope's length before the store's position: the
// version, the kind and an 8-byte tag of the scope.
const cursorHead = 2 + 8

// SealCursor wraps a store's position in a listing (pos, opaque here) into
// a cursor that names the listing: its kind and its scope, the user it
// belongs to and, for a history, the peer (empty otherwise). The layout is
// version, kind, 8 bytes of FNV-1a of the scope, pos; it is stable across
// restarts and deploys.
func SealCursor(kind CursorKind, user, peer UserID, pos []byte) []byte {
	b := make([]byte, 0, cursorHead+len(pos))
	b = append(b, cursorVersion, byte(kind))
	b = binary.BigEndian.AppendUint64(b, cursorScope(user, peer))
	return append(b, pos...)
}

// OpenCursor returns the position in a cursor that SealCursor made for the
// same kind, user and peer. Any other cursor (another listing's, another
// peer's or user's, one of an older format, a forged one) is an
// invalid_cursor error; the store still checks the position it gets back.
func OpenCursor(kind CursorKind, user, peer UserID, cursor []byte) ([]byte, error) {
	if len(cursor) <= cursorHead || cursor[0] != cursorVersion || cursor[1] != byte(kind) ||
		binary.BigEndian.Uint64(cursor[2:cursorHead]) != cursorScope(user, peer) {
		return nil, Errorf(CodeInvalidCursor, "cursor is not one this listing gave out")
	}
	return cursor[cursorHead:], nil
}

// cursorScope is FNV-1a (64-bit) of user, a zero byte and peer. It tells
// listings apart; it is no secret (a forged cursor can only page through
// the caller's own listing).
func cursorScope(user, peer UserID) uint64 {
	h := fnv.New64a()
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(peer))
	return h.Sum64()
}
