package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tidings-chat/tidings/domain"
)

// AuthenticateHandler finds the user a bearer token belongs to.
type AuthenticateHandler struct {
	accounts Accounts
}

// Handle returns the token's owner, or a CodeUnauthorized error that does not
// say whether the token was malformed or unknown.
func (h AuthenticateHandler) Handle(ctx context.Context, token string) (domain.User, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 128 {
		return domain.User{}, domain.Errorf(domain.CodeUnauthorized, "missing or invalid token")
	}
	u, err := h.accounts.UserByToken(ctx, HashToken(token))
	if errors.Is(err, domain.ErrNotFound) {
		return domain.User{}, domain.Errorf(domain.CodeUnauthorized, "missing or invalid token")
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("look up token: %w", err)
	}
	return u, nil
}
