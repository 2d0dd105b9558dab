package commands

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// EventLog appends events durably. Append returns only after the event is
// acknowledged by every in-sync replica of its partition, with the event's
// position. Events with the same Key keep their order. Append is safe for
// concurrent use; it may return an error after the event was appended
// (unknown outcome), so callers that retry must make the retry harmless.
type EventLog interface {
	Append(ctx context.Context, ev domain.Event) (domain.Position, error)
}

// TokenHash is the SHA-256 of a bearer token. Stores keep only this.
type TokenHash [sha256.Size]byte

// HashToken returns the hash under which a token is stored.
func HashToken(token string) TokenHash { return sha256.Sum256([]byte(token)) }

// ErrNameTaken is returned by Accounts.CreateUser when the name is in use.
var ErrNameTaken = errors.New("name taken")

// Session is the stored record of one bearer token: its hash, its owner,
// and until when it works. Sessions expire at ExpiresAt, which use does
// not move; DeleteSession revokes one before that.
type Session struct {
	Token     TokenHash
	User      domain.UserID
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Expired reports whether s no longer works at now.
func (s Session) Expired(now time.Time) bool { return !now.Before(s.ExpiresAt) }

// Accounts stores users, the hashes of their passwords and the sessions of
// their tokens (hashes only). Implementations are safe for concurrent use.
// Stores have no clock: they keep expired sessions until pruned, and the
// commands refuse them.
type Accounts interface {
	// CreateUser stores u, its password hash (nil: no password) and its
	// first session atomically; ErrNameTaken when another user has the
	// name.
	CreateUser(ctx context.Context, u domain.User, password []byte, first Session) error
	// UserByToken returns the owner of a token and its session, or
	// domain.ErrNotFound when the token is unknown or revoked. It does not
	// check expiry.
	UserByToken(ctx context.Context, token TokenHash) (domain.User, Session, error)
	// User returns a user by id, or domain.ErrNotFound.
	User(ctx context.Context, id domain.UserID) (domain.User, error)
	// UserByName returns the user with exactly this name, or
	// domain.ErrNotFound.
	UserByName(ctx context.Context, name string) (domain.User, error)
	// PasswordHash returns the stored hash of a user's password, nil when
	// the user has none, or domain.ErrNotFound when there is no such user.
	PasswordHash(ctx context.Context, id domain.UserID) ([]byte, error)
	// CreateSession stores a new session of an existing user, or returns
	// domain.ErrNotFound when s.User does not exist.
	CreateSession(ctx context.Context, s Session) error
	// DeleteSession revokes a token: once it returns, UserByToken of the
	// token is domain.ErrNotFound, on every process sharing the store.
	// Deleting an unknown token is not an error.
	DeleteSession(ctx context.Context, token TokenHash) error
	// DeleteUser deletes a user for good, in one write with everything
	// the store keeps of it: its sessions (UserByToken of each is
	// domain.ErrNotFound) and the data keys of its messages (Sealer), so
	// that no copy of its text can be read again and no new key of it can
	// be made. The name is free afterwards. Deleting an unknown user
	// returns domain.ErrNotFound.
	DeleteUser(ctx context.Context, id domain.UserID) error
}

// Sealer seals message text before it is appended, with a data key of
// its author for the conversation kept in the catalog store beside the
// account (adapters/datakeys): deleting the account deletes the key, and
// every copy of the text in the log, the views and their backups can no
// longer be read (crypto-shredding). Safe for concurrent use.
type Sealer interface {
	// Seal returns text sealed with author's key for peer, bound to id.
	Seal(ctx context.Context, author, peer domain.UserID, id domain.MessageID, text string) (string, error)
	// Forget drops whatever this process keeps of author's keys.
	Forget(author domain.UserID)
}

// SendRecord remembers which message a client_msg_id of a sender produced,
// so that a retried send returns the same message instead of a new one.
type SendRecord struct {
	From        domain.UserID
	ClientMsgID string
	ID          domain.MessageID
	To          domain.UserID
	SentAt      time.Time
	// Digest is the SHA-256 of the recipient and text, to recognise a
	// reused client_msg_id with a different request.
	Digest [sha256.Size]byte
}

// SendLog is the command side's idempotency store.
type SendLog interface {
	// Reserve stores rec unless a record for (rec.From, rec.ClientMsgID)
	// exists. It returns the record in force and whether it is rec. It is
	// atomic: of two concurrent calls for the same key, one wins and the
	// other gets the winner's record.
	Reserve(ctx context.Context, rec SendRecord) (stored SendRecord, created bool, err error)
	// Prune deletes the records reserved more than olderThan ago (by the
	// store's clock; olderThan must be positive) and returns how many it
	// deleted. A retry after its record was pruned sends a new message:
	// clients must not retry a client_msg_id for longer than the
	// retention (SendLogRetention). Safe to run beside Reserve.
	Prune(ctx context.Context, olderThan time.Duration) (int64, error)
}

// SendLogRetention is how long a client_msg_id reservation is kept: a
// retry within it returns the first message.
const SendLogRetention = 7 * 24 * time.Hour

// MessageReader reads a message as the given user sees it (from the views);
// domain.ErrNotFound when it does not exist or the user is not a party.
type MessageReader interface {
	Message(ctx context.Context, user domain.UserID, id domain.MessageID) (domain.Message, error)
}

// Clock returns the current time. Commands stamp events with it in UTC.
type Clock func() time.Time

// ViewSync brings the views up to date with everything already appended
// under a key (the user's partition), so a command that checks the views
// sees the effect of every earlier command on that user: a retried
// mark-read finds the message read instead of reading it again. Sync
// returns an error if the views do not catch up in time; callers go on
// regardless (the worst outcome is a redundant event, which projections
// ignore).
type ViewSync interface {
	Sync(ctx context.Context, key domain.UserID) error
}
