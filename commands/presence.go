package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// Presence is ephemeral: whether a user has a WebSocket open somewhere,
// and when they last had one. It is not an event and is not in the log;
// only the last-seen time (and the per-node connection marks) are kept,
// in a PresenceStore.

// Presence timing. A node beats every PresenceBeat; its connections count
// only while its last beat is younger than PresenceNodeTTL, so the users of
// a node that died without closing its sockets go offline within
// PresenceNodeTTL, last seen at that node's last beat.
const (
	PresenceBeat    = 15 * time.Second
	PresenceNodeTTL = 60 * time.Second
)

// Settings are a user's privacy settings.
type Settings struct {
	// HideLastSeen hides the user's last-seen time from everyone. As in
	// WhatsApp it works both ways: a user who hides theirs sees nobody's.
	// Online is still shown to the user's conversation peers.
	HideLastSeen bool
}

// SettingsStore keeps each user's Settings (the accounts store implements
// it). A user who never set anything has the zero Settings. Safe for
// concurrent use.
type SettingsStore interface {
	// Settings returns user's settings, or domain.ErrNotFound when there is
	// no such user.
	Settings(ctx context.Context, user domain.UserID) (Settings, error)
	// SetSettings replaces user's settings (last writer wins), or returns
	// domain.ErrNotFound when there is no such user.
	SetSettings(ctx context.Context, user domain.UserID, s Settings) error
}

// PresenceStore keeps which node holds connections of which user, each
// node's last beat, and each user's last-seen time, which survives a
// restart. Times are the callers' clocks, kept to the millisecond at
// least. Node names are opaque strings a process picks at start. Safe for
// concurrent use; every method is idempotent.
type PresenceStore interface {
	// Beat records that node is alive at at.
	Beat(ctx context.Context, node string, at time.Time) error
	// Online records that user has at least one connection on node since
	// at; it also raises user's last seen to at.
	Online(ctx context.Context, node string, user domain.UserID, at time.Time) error
	// Offline records that user has no connection left on node, last seen
	// at at. A last seen never moves back.
	Offline(ctx context.Context, node string, user domain.UserID, at time.Time) error
	// Presence reports whether user has a connection on a node that beat
	// within PresenceNodeTTL before now, and user's last seen: the latest
	// of what Online and Offline recorded and of the last beats of dead
	// nodes that still hold a connection of user. A zero lastSeen means
	// never seen.
	Presence(ctx context.Context, user domain.UserID, now time.Time) (online bool, lastSeen time.Time, err error)
	// Sweep finds the nodes that died by now (no beat within
	// PresenceNodeTTL) and were not swept since their last beat, and
	// returns the users who had a connection on one of them and have none
	// on a live node, each with their last seen (raised to the dead node's
	// last beat). Each death is returned by one Sweep only, whoever calls
	// it: the caller tells the users' watchers. A node that beats again
	// counts again, and may die and be swept again.
	Sweep(ctx context.Context, now time.Time) ([]Gone, error)
}

// Gone is a user whose connections were all on nodes that died.
type Gone struct {
	User     domain.UserID
	LastSeen time.Time
}

// PresenceState is what a viewer may see of a user's presence.
type PresenceState struct {
	User   domain.UserID
	Online bool
	// LastSeen is zero when the user is online, was never seen, or the
	// last seen is hidden (by either side's HideLastSeen).
	LastSeen time.Time
}

// ShowLastSeen is the privacy rule: a last seen is shown only when neither
// the viewer nor the user hides theirs.
func ShowLastSeen(viewer, user Settings) bool { return !viewer.HideLastSeen && !user.HideLastSeen }

// PresenceQuery answers who may see whose presence, and what they see.
// The rule: a user sees the presence of themselves and of the users they
// have a conversation with (one of the two has sent the other a message);
// anyone else is domain.ErrNotFound, as an unknown user is, so presence
// never tells a stranger whether someone is online.
type PresenceQuery struct {
	Store    PresenceStore
	Settings SettingsStore
	// Users confirms that a user exists (the accounts store).
	Users interface {
		User(ctx context.Context, id domain.UserID) (domain.User, error)
	}
	// Talked reports whether a and b have a conversation (the views).
	Talked func(ctx context.Context, a, b domain.UserID) (bool, error)
	Clock  Clock // nil: time.Now
}

// Validate reports the missing dependencies.
func (q *PresenceQuery) Validate() error {
	if q.Store == nil || q.Settings == nil || q.Users == nil || q.Talked == nil {
		return errors.New("commands: PresenceQuery needs Store, Settings, Users and Talked")
	}
	return nil
}

func (q *PresenceQuery) now() time.Time {
	if q.Clock != nil {
		return q.Clock().UTC()
	}
	return time.Now().UTC()
}

// Visible returns nil when viewer may see user's presence, else
// domain.ErrNotFound (also for an id that is not valid).
func (q *PresenceQuery) Visible(ctx context.Context, viewer, user domain.UserID) error {
	if !domain.ValidID(string(user)) {
		return domain.ErrNotFound
	}
	if viewer == user {
		return nil
	}
	if _, err := q.Users.User(ctx, user); err != nil {
		return err
	}
	ok, err := q.Talked(ctx, viewer, user)
	if err != nil {
		return fmt.Errorf("check conversation of %s with %s: %w", viewer, user, err)
	}
	if !ok {
		return domain.ErrNotFound
	}
	return nil
}

// Of returns user's presence as viewer may see it, or domain.ErrNotFound
// when viewer may not (Visible).
func (q *PresenceQuery) Of(ctx context.Context, viewer, user domain.UserID) (PresenceState, error) {
	if err := q.Visible(ctx, viewer, user); err != nil {
		return PresenceState{}, err
	}
	online, last, err := q.Store.Presence(ctx, user, q.now())
	if err != nil {
		return PresenceState{}, fmt.Errorf("read presence of %s: %w", user, err)
	}
	st := PresenceState{User: user, Online: online}
	if online || last.IsZero() {
		return st, nil
	}
	show, err := q.ShowsLastSeen(ctx, viewer, user)
	if err != nil {
		return PresenceState{}, err
	}
	if show {
		st.LastSeen = last.UTC()
	}
	return st, nil
}

// ShowsLastSeen applies ShowLastSeen to the stored settings of viewer and
// user.
func (q *PresenceQuery) ShowsLastSeen(ctx context.Context, viewer, user domain.UserID) (bool, error) {
	vs, err := q.Settings.Settings(ctx, viewer)
	if err != nil {
		return false, fmt.Errorf("read settings of %s: %w", viewer, err)
	}
	if viewer == user {
		return ShowLastSeen(vs, vs), nil
	}
	us, err := q.Settings.Settings(ctx, user)
	if err != nil {
		return false, fmt.Errorf("read settings of %s: %w", user, err)
	}
	return ShowLastSeen(vs, us), nil
}

// TypingTo checks that from may tell to that they are typing: to is an
// existing account other than from (unknown_recipient, invalid_field),
// the same rule as a send's recipient. Whether to is online is never told.
func (q *PresenceQuery) TypingTo(ctx context.Context, from, to domain.UserID) error {
	if to == from {
		return domain.Errorf(domain.CodeInvalidField, "to must be another user")
	}
	if !domain.ValidID(string(to)) {
		return domain.Errorf(domain.CodeUnknownRecipient, "no user with id %q", to)
	}
	if _, err := q.Users.User(ctx, to); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Errorf(domain.CodeUnknownRecipient, "no user with id %q", to)
		}
		return err
	}
	return nil
}
