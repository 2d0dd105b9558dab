package domain

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"
)

// UserID identifies a user. It is opaque to clients and never reused.
type UserID string

// MessageID identifies a message. IDs made by NewID sort by creation time
// (millisecond precision) and are unique without coordination.
type MessageID string

// crockford is Crockford's base32 alphabet: no I, L, O or U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a 26-character, time-ordered, random identifier (the ULID
// layout: 48 bits of Unix milliseconds, then 80 random bits). It is safe for
// concurrent use.
func NewID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails on supported platforms
	return encodeBase32(b)
}

func encodeBase32(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	// 128 bits as 26 five-bit groups; the first group holds the top 3 bits.
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ValidID reports whether s looks like an ID made by NewID. It guards
// storage keys against arbitrary client input.
func ValidID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(crockford, rune(s[i])) {
			return false
		}
	}
	return true
}
