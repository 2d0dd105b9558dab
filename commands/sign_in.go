package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// SignIn asks for a new token with a user's name and password.
type SignIn struct {
	Name     string
	Password string
}

// SignedIn is a user and a new bearer token, shown once, that works until
// ExpiresAt.
type SignedIn struct {
	User      domain.User
	Token     string
	ExpiresAt time.Time
}

// SignInHandler issues tokens against passwords.
type SignInHandler struct {
	accounts Accounts
	lifetime time.Duration
	now      func() time.Time
}

// Handle checks the password and stores a new session. An unknown name, a
// user without a password and a wrong password are the same
// CodeInvalidCredentials error and take as long, so the answer does not
// tell which names exist. Earlier tokens of the user keep working.
func (h SignInHandler) Handle(ctx context.Context, cmd SignIn) (SignedIn, error) {
	if cmd.Name == "" || cmd.Password == "" {
		return SignedIn{}, domain.Errorf(domain.CodeMissingField, "name and password are required")
	}
	refused := domain.Errorf(domain.CodeInvalidCredentials, "wrong name or password")
	u, err := h.accounts.UserByName(ctx, cmd.Name)
	if errors.Is(err, domain.ErrNotFound) {
		checkPassword(dummyHash(), cmd.Password)
		return SignedIn{}, refused
	}
	if err != nil {
		return SignedIn{}, fmt.Errorf("find user: %w", err)
	}
	hash, err := h.accounts.PasswordHash(ctx, u.ID)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return SignedIn{}, fmt.Errorf("read password of %s: %w", u.ID, err)
	}
	if hash == nil {
		checkPassword(dummyHash(), cmd.Password)
		return SignedIn{}, refused
	}
	if !checkPassword(hash, cmd.Password) {
		return SignedIn{}, refused
	}
	return issue(ctx, h.accounts, u, h.now(), h.lifetime)
}

// issue stores a new session of u and returns its token.
func issue(ctx context.Context, accounts Accounts, u domain.User, now time.Time, lifetime time.Duration) (SignedIn, error) {
	token, s := newSession(u.ID, now, lifetime)
	if err := accounts.CreateSession(ctx, s); err != nil {
		return SignedIn{}, fmt.Errorf("store session of %s: %w", u.ID, err)
	}
	return SignedIn{User: u, Token: token, ExpiresAt: s.ExpiresAt}, nil
}
