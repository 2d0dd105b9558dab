package domain

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// UserID identifies a user. It is opaque to clients and never reused.
type UserID string

// MessageID identifies a message. IDs made by NewID sort by creation time
// (millisecond precision) and are unique without coordination.
type MessageID string

// crockford is Crockford's base32 alphabet: no I, L, O or U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a 26-character, time-ordered identifier (the ULID layout:
// 48 bits of Unix milliseconds, then 80 bits that are random for the first
// id of a millisecond and incremented for the next ones). IDs made by one
// process therefore grow strictly, even within a millisecond, so messages
// sorted by (time, id) keep the order they were sent in. Safe for
// concurrent use.
func NewID(now time.Time) string {
	ms := uint64(now.UnixMilli())
	idGen.Lock()
	defer idGen.Unlock()
	var b [16]byte
	if ms <= idGen.ms && idGen.ms-ms < 1000 {
		// Same millisecond (or the clock stepped back a little): continue
		// from the last id so order holds.
		ms = idGen.ms
		hi, lo := idGen.hi, idGen.lo+1
		if lo == 0 {
			hi++
		}
		idGen.hi, idGen.lo = hi&0xffff, lo
	} else {
		var r [10]byte
		_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms
		// Keep the top bit clear so increments cannot overflow the 80 bits.
		idGen.hi = uint64(binary.BigEndian.Uint16(r[:2])) & 0x7fff
		idGen.lo = binary.BigEndian.Uint64(r[2:])
		idGen.ms = ms
	}
	binary.BigEndian.PutUint64(b[:8], ms<<16|idGen.hi)
	binary.BigEndian.PutUint64(b[8:], idGen.lo)
	return encodeBase32(b)
}

var idGen struct {
	sync.Mutex
	ms, hi, lo uint64 // last id: milliseconds, top 16 and low 64 random bits
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
