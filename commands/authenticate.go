package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// AuthenticateHandler finds the user a bearer token belongs to.
type AuthenticateHandler struct {
	accounts Accounts
	now      func() time.Time
}

// Handle returns the token's owner, or a CodeUnauthorized error that does not
// say whether the token was malformed, unknown, revoked or expired.
func (h AuthenticateHandler) Handle(ctx context.Context, token string) (domain.User, error) {
	u, _, err := h.Session(ctx, token)
	return u, err
}

// Session is Handle that also returns the token's session (its hash and
// expiry), for connections that must end when it does.
func (h AuthenticateHandler) Session(ctx context.Context, token string) (domain.User, Session, error) {
	refused := domain.Errorf(domain.CodeUnauthorized, "missing or invalid token")
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 128 {
		return domain.User{}, Session{}, refused
	}
	u, s, err := h.accounts.UserByToken(ctx, HashToken(token))
	if errors.Is(err, domain.ErrNotFound) {
		return domain.User{}, Session{}, refused
	}
	if err != nil {
		return domain.User{}, Session{}, fmt.Errorf("look up token: %w", err)
	}
	if s.Expired(h.now()) {
		return domain.User{}, Session{}, refused
	}
	return u, s, nil
}
