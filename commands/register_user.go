package commands

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// TokenPrefix starts every bearer token, so leaked tokens are easy to spot.
const TokenPrefix = "tdg_"

// RegisterUser asks for a new account.
type RegisterUser struct {
	Name string
	// Password, when set, lets the user sign in again (SignIn) for a new
	// token; without one the first token is the account's only key.
	Password *string
}

// Registered is a new account and its bearer token. The token is shown
// once; only its hash is stored. It works until ExpiresAt.
type Registered struct {
	User      domain.User
	Token     string
	ExpiresAt time.Time
}

// RegisterUserHandler creates accounts.
type RegisterUserHandler struct {
	accounts Accounts
	lifetime time.Duration
	now      func() time.Time
}

// Handle validates the name (and password, if any) and stores the account
// with its first session.
func (h RegisterUserHandler) Handle(ctx context.Context, cmd RegisterUser) (Registered, error) {
	if cmd.Name == "" {
		return Registered{}, domain.Errorf(domain.CodeMissingField, "name is required")
	}
	if err := domain.ValidateName(cmd.Name); err != nil {
		return Registered{}, err
	}
	var hash []byte
	if cmd.Password != nil {
		if err := validatePassword(*cmd.Password); err != nil {
			return Registered{}, err
		}
		hash = hashPassword(*cmd.Password)
	}
	now := h.now()
	u := domain.User{ID: domain.UserID(domain.NewID(now)), Name: cmd.Name, CreatedAt: now}
	token, s := newSession(u.ID, now, h.lifetime)
	if err := h.accounts.CreateUser(ctx, u, hash, s); err != nil {
		if errors.Is(err, ErrNameTaken) {
			return Registered{}, domain.Errorf(domain.CodeNameTaken, "name %q is taken", cmd.Name)
		}
		return Registered{}, fmt.Errorf("create user %s: %w", u.ID, err)
	}
	return Registered{User: u, Token: token, ExpiresAt: s.ExpiresAt}, nil
}

// NewToken returns a fresh bearer token with 256 bits of entropy.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// newSession returns a fresh token and the session that stores its hash.
func newSession(user domain.UserID, now time.Time, lifetime time.Duration) (string, Session) {
	token := NewToken()
	return token, Session{Token: HashToken(token), User: user, CreatedAt: now, ExpiresAt: now.Add(lifetime)}
}
