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
}

// Registered is a new account and its bearer token. The token is shown
// once; only its hash is stored.
type Registered struct {
	User  domain.User
	Token string
}

// RegisterUserHandler creates accounts.
type RegisterUserHandler struct {
	accounts Accounts
	now      func() time.Time
}

// Handle validates the name and stores the account.
func (h RegisterUserHandler) Handle(ctx context.Context, cmd RegisterUser) (Registered, error) {
	if cmd.Name == "" {
		return Registered{}, domain.Errorf(domain.CodeMissingField, "name is required")
	}
	if err := domain.ValidateName(cmd.Name); err != nil {
		return Registered{}, err
	}
	now := h.now()
	u := domain.User{ID: domain.UserID(domain.NewID(now)), Name: cmd.Name, CreatedAt: now}
	token := NewToken()
	if err := h.accounts.CreateUser(ctx, u, HashToken(token)); err != nil {
		if errors.Is(err, ErrNameTaken) {
			return Registered{}, domain.Errorf(domain.CodeNameTaken, "name %q is taken", cmd.Name)
		}
		return Registered{}, fmt.Errorf("create user %s: %w", u.ID, err)
	}
	return Registered{User: u, Token: token}, nil
}

// NewToken returns a fresh bearer token with 256 bits of entropy.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}
