package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/tidings-chat/tidings/domain"
)

// DeleteAccount asks to delete User's account for good. Password must be
// the account's password when it has one (a stolen token alone cannot
// erase an account); an account made without a password needs none.
type DeleteAccount struct {
	User     domain.UserID
	Password string
}

// DeleteAccountHandler deletes accounts and, with them, their text.
type DeleteAccountHandler struct {
	accounts Accounts
	sealer   Sealer // nil: text was never sealed, and stays readable
	known    *knownUsers
}

// Handle checks the password (none given, or a wrong one, is
// CodeInvalidCredentials) and deletes the account in one write with
// its sessions and its data keys (Accounts.DeleteUser). From then on every
// message text the user wrote, in the event log, the views and any backup
// of them, opens as erased: on this process at once, on the others once
// their cached keys expire (datakeys.Config.CacheFor). Messages the user
// received stay readable to their senders. When the password is refused
// nothing is deleted.
func (h DeleteAccountHandler) Handle(ctx context.Context, cmd DeleteAccount) error {
	hash, err := h.accounts.PasswordHash(ctx, cmd.User)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Errorf(domain.CodeUnauthorized, "the account no longer exists")
	}
	if err != nil {
		return fmt.Errorf("read password of %s: %w", cmd.User, err)
	}
	if hash != nil {
		// No password and a wrong one are the same answer: the request
		// lacks the credential that deleting the account needs.
		if cmd.Password == "" || !checkPassword(hash, cmd.Password) {
			return domain.Errorf(domain.CodeInvalidCredentials, "the account's password is required, and must be right, to delete it")
		}
	}
	if err := h.accounts.DeleteUser(ctx, cmd.User); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Errorf(domain.CodeUnauthorized, "the account no longer exists")
		}
		return fmt.Errorf("delete account %s: %w", cmd.User, err)
	}
	if h.sealer != nil {
		h.sealer.Forget(cmd.User)
	}
	if h.known != nil {
		h.known.forget(cmd.User)
	}
	return nil
}
