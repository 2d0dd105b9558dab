package commands

import (
	"errors"
	"time"
)

// Commands is the table of contents of what clients can ask tidings to do.
// Every handler is safe for concurrent use.
type Commands struct {
	RegisterUser  RegisterUserHandler
	Authenticate  AuthenticateHandler
	SignIn        SignInHandler
	RotateSession RotateSessionHandler
	SignOut       SignOutHandler
	SendMessage   SendMessageHandler
	MarkRead      MarkReadHandler
	MarkDelivered MarkDeliveredHandler
	ReadUpTo      ReadUpToHandler
	DeleteAccount DeleteAccountHandler
	// Edits and deletes (issue 12).
	EditMessage   EditMessageHandler
	DeleteMessage DeleteMessageHandler
	HideMessage   HideMessageHandler
	ReactMessage  ReactMessageHandler
	// Marks is for the query side: it moves messages read from the views
	// forward by the marks above appended lately (see Marks).
	Marks Marks
}

// Deps are the ports the command handlers need.
type Deps struct {
	Log      EventLog
	Accounts Accounts
	SendLog  SendLog
	Messages MessageReader
	Limiter  Limiter  // nil: no send rate limit; keyed by sender id
	Sealer   Sealer   // nil: message text is appended unsealed (no crypto-shredding)
	Sync     ViewSync // nil: commands check the views as they are
	Clock    Clock    // nil: time.Now
	// SessionLifetime is how long a token works after it is issued
	// (use does not extend it); 0: DefaultSessionLifetime.
	SessionLifetime time.Duration
}

// DefaultSessionLifetime is how long a token works unless configured.
const DefaultSessionLifetime = 30 * 24 * time.Hour

// New wires the command handlers.
func New(d Deps) (Commands, error) {
	var errs []error
	if d.Log == nil {
		errs = append(errs, errors.New("commands: Log is nil"))
	}
	if d.Accounts == nil {
		errs = append(errs, errors.New("commands: Accounts is nil"))
	}
	if d.SendLog == nil {
		errs = append(errs, errors.New("commands: SendLog is nil"))
	}
	if d.Messages == nil {
		errs = append(errs, errors.New("commands: Messages is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return Commands{}, err
	}
	clock := d.Clock
	if clock == nil {
		clock = time.Now
	}
	// Times are kept to the millisecond: every store can hold that exactly.
	now := func() time.Time { return clock().UTC().Truncate(time.Millisecond) }
	recent := newRecentMarks(recentMarksSize)
	known := newKnownUsers(knownUsersSize)
	life := d.SessionLifetime
	if life <= 0 {
		life = DefaultSessionLifetime
	}
	return Commands{
		RegisterUser:  RegisterUserHandler{accounts: d.Accounts, lifetime: life, now: now},
		Authenticate:  AuthenticateHandler{accounts: d.Accounts, now: now},
		SignIn:        SignInHandler{accounts: d.Accounts, lifetime: life, now: now},
		RotateSession: RotateSessionHandler{accounts: d.Accounts, lifetime: life, now: now},
		SignOut:       SignOutHandler{accounts: d.Accounts},
		SendMessage: SendMessageHandler{log: d.Log, accounts: d.Accounts, sends: d.SendLog, messages: d.Messages, limiter: d.Limiter,
			sealer: d.Sealer, known: known, now: now, sync: d.Sync},
		DeleteAccount: DeleteAccountHandler{accounts: d.Accounts, sealer: d.Sealer, known: known},
		MarkRead:      MarkReadHandler{log: d.Log, messages: d.Messages, sync: d.Sync, recent: recent, now: now},
		MarkDelivered: MarkDeliveredHandler{log: d.Log, messages: d.Messages, sync: d.Sync, recent: recent, now: now},
		Marks:         Marks{recent: recent},
		EditMessage:   EditMessageHandler{log: d.Log, messages: d.Messages, sync: d.Sync, sealer: d.Sealer, now: now},
		DeleteMessage: DeleteMessageHandler{log: d.Log, messages: d.Messages, sync: d.Sync, now: now},
		HideMessage:   HideMessageHandler{log: d.Log, messages: d.Messages, sync: d.Sync, now: now},
		ReactMessage:  ReactMessageHandler{log: d.Log, messages: d.Messages, sync: d.Sync, now: now},
		ReadUpTo:      ReadUpToHandler{log: d.Log, messages: d.Messages, sync: d.Sync, now: now},
	}, nil
}
