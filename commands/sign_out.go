package commands

import (
	"context"
	"fmt"
)

// SignOut revokes the token it names.
type SignOut struct {
	Token string
}

// SignOutHandler revokes tokens.
type SignOutHandler struct {
	accounts Accounts
}

// Handle revokes cmd.Token: once it returns, the token authenticates
// nothing on any node sharing the accounts store. Revoking a token twice is
// not an error.
func (h SignOutHandler) Handle(ctx context.Context, cmd SignOut) error {
	if err := h.accounts.DeleteSession(ctx, HashToken(cmd.Token)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
