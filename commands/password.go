package commands

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/tidings-chat/tidings/domain"
)

// Password rules: MinPasswordLen to MaxPasswordLen Unicode characters.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// argon2id parameters: OWASP's minimum recommendation (19 MiB, 2 passes,
// one lane). A hash takes some tens of milliseconds of one core; stored
// hashes carry their parameters, so raising them later keeps old hashes
// verifiable.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// hashSlots bounds how many password hashes run at once (each holds 19 MiB
// for its duration), so a burst of sign-ins cannot exhaust memory.
var hashSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// validatePassword checks the password rules.
func validatePassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen || n > MaxPasswordLen {
		return domain.Errorf(domain.CodeInvalidPassword, "password must have %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// hashPassword returns pw's argon2id hash with a fresh random salt, in the
// PHC string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
func hashPassword(pw string) []byte {
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt) // never fails on supported platforms
	key := argonKey(pw, salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Appendf(nil, "$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// checkPassword reports whether pw matches a hash made by hashPassword. A
// malformed hash matches nothing.
func checkPassword(hash []byte, pw string) bool {
	parts := strings.Split(string(hash), "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var (
		m, t uint32
		p    uint8
	)
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 16 || p < 1 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argonKey(pw, salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when a sign-in names no user or a user
// without a password, so that such a sign-in takes as long as a wrong
// password and timing does not tell which names exist.
var dummyHash = sync.OnceValue(func() []byte { return hashPassword("not the password of anyone") })

func argonKey(pw string, salt []byte, t, m uint32, p uint8, n uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(pw), salt, t, m, p, n)
}
