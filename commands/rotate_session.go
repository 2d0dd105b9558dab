package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// RotateSession exchanges a valid token for a new one.
type RotateSession struct {
	User  domain.User // the owner, as authentication found
	Token string      // the token to replace
}

// RotateSessionHandler replaces tokens.
type RotateSessionHandler struct {
	accounts Accounts
	lifetime time.Duration
	now      func() time.Time
}

// Handle stores a new session for cmd.User, then revokes cmd.Token. If the
// revocation fails the error is returned and the new token is not shown;
// the old token keeps working, so the client can try again.
func (h RotateSessionHandler) Handle(ctx context.Context, cmd RotateSession) (SignedIn, error) {
	out, err := issue(ctx, h.accounts, cmd.User, h.now(), h.lifetime)
	if err != nil {
		return SignedIn{}, err
	}
	if err := h.accounts.DeleteSession(ctx, HashToken(cmd.Token)); err != nil {
		_ = h.accounts.DeleteSession(ctx, HashToken(out.Token))
		return SignedIn{}, fmt.Errorf("revoke replaced session: %w", err)
	}
	return out, nil
}
