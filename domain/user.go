package domain

import (
	"time"
)

// Limits on user names.
const (
	MinNameLen = 1
	MaxNameLen = 32
)

// User is a registered account. Its token is never part of it: stores keep
// only a hash of the token.
type User struct {
	ID        UserID
	Name      string
	CreatedAt time.Time
}

// ValidateName checks a user name: 1 to 32 characters of a-z, 0-9, '_', '.'
// and '-', starting with a letter or digit. Names are unique and
// case-sensitive as given (clients should lower-case them).
func ValidateName(name string) error {
	if len(name) < MinNameLen || len(name) > MaxNameLen {
		return Errorf(CodeInvalidName, "name must be %d to %d characters", MinNameLen, MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '.' || c == '-') && i > 0:
		default:
			return Errorf(CodeInvalidName, "name may hold only a-z, 0-9, '_', '.' and '-', and must start with a letter or digit")
		}
	}
	return nil
}
