package domain

import (
	"bytes"
	"testing"
)

func TestCursorRoundTrip(t *testing.T) {
	pos := []byte("position\x00bytes")
	c := SealCursor(CursorHistory, "alice", "bob", pos)
	got, err := OpenCursor(CursorHistory, "alice", "bob", c)
	if err != nil || !bytes.Equal(got, pos) {
		t.Fatalf("OpenCursor = %q, %v; want %q", got, err, pos)
	}
}

func TestCursorOfAnotherListingIsInvalid(t *testing.T) {
	c := SealCursor(CursorHistory, "alice", "bob", []byte("pos"))
	tests := []struct {
		name       string
		kind       CursorKind
		user, peer UserID
		cursor     []byte
	}{
		{"another kind", CursorUnread, "alice", "bob", c},
		{"another peer", CursorHistory, "alice", "carol", c},
		{"another user", CursorHistory, "carol", "bob", c},
		{"user and peer swapped", CursorHistory, "bob", "alice", c},
		{"scope split differently", CursorHistory, "alic", "ebob", c},
		{"an older format", CursorHistory, "alice", "bob", append([]byte{0x18, 0x9a}, c[2:]...)},
		{"empty position", CursorHistory, "alice", "bob", c[:cursorHead]},
		{"truncated", CursorHistory, "alice", "bob", c[:5]},
		{"empty", CursorHistory, "alice", "bob", []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenCursor(tc.kind, tc.user, tc.peer, tc.cursor)
			if got := CodeOf(err); got != CodeInvalidCursor {
				t.Fatalf("OpenCursor code %q (err %v), want %q", got, err, CodeInvalidCursor)
			}
		})
	}
}
