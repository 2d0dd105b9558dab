package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// memLog records appended events; failNext makes the next Append fail
// after recording (an append whose outcome the caller never learns).
type memLog struct {
	mu       sync.Mutex
	events   []domain.Event
	failNext bool
}

func (l *memLog) Append(_ context.Context, ev domain.Event) (domain.Position, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
	if l.failNext {
		l.failNext = false
		return domain.Position{}, errors.New("broker went away")
	}
	return domain.Position{Partition: 0, Offset: int64(len(l.events) - 1)}, nil
}

type memAccounts struct {
	mu        sync.Mutex
	users     map[domain.UserID]domain.User
	passwords map[domain.UserID][]byte
	tokens    map[commands.TokenHash]commands.Session
}

func newMemAccounts() *memAccounts {
	return &memAccounts{users: map[domain.UserID]domain.User{}, passwords: map[domain.UserID][]byte{},
		tokens: map[commands.TokenHash]commands.Session{}}
}

func (a *memAccounts) CreateUser(_ context.Context, u domain.User, pw []byte, s commands.Session) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, x := range a.users {
		if x.Name == u.Name {
			return commands.ErrNameTaken
		}
	}
	a.users[u.ID], a.tokens[s.Token] = u, s
	if pw != nil {
		a.passwords[u.ID] = pw
	}
	return nil
}

func (a *memAccounts) UserByToken(ctx context.Context, h commands.TokenHash) (domain.User, commands.Session, error) {
	a.mu.Lock()
	s, ok := a.tokens[h]
	a.mu.Unlock()
	if !ok {
		return domain.User{}, commands.Session{}, domain.ErrNotFound
	}
	u, err := a.User(ctx, s.User)
	return u, s, err
}

func (a *memAccounts) PasswordHash(ctx context.Context, id domain.UserID) ([]byte, error) {
	if _, err := a.User(ctx, id); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.passwords[id], nil
}

func (a *memAccounts) CreateSession(_ context.Context, s commands.Session) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.users[s.User]; !ok {
		return domain.ErrNotFound
	}
	a.tokens[s.Token] = s
	return nil
}

func (a *memAccounts) DeleteSession(_ context.Context, h commands.TokenHash) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.tokens, h)
	return nil
}

func (a *memAccounts) DeleteUser(_ context.Context, id domain.UserID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.users[id]; !ok {
		return domain.ErrNotFound
	}
	delete(a.users, id)
	delete(a.passwords, id)
	return nil
}

func (a *memAccounts) User(_ context.Context, id domain.UserID) (domain.User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[id]
	if !ok {
		return domain.User{}, domain.ErrNotFound
	}
	return u, nil
}

func (a *memAccounts) UserByName(_ context.Context, name string) (domain.User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, u := range a.users {
		if u.Name == name {
			return u, nil
		}
	}
	return domain.User{}, domain.ErrNotFound
}

type memSends struct {
	mu   sync.Mutex
	recs map[string]commands.SendRecord
}

func (s *memSends) Reserve(_ context.Context, r commands.SendRecord) (commands.SendRecord, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := string(r.From) + "/" + r.ClientMsgID
	if old, ok := s.recs[k]; ok {
		return old, false, nil
	}
	s.recs[k] = r
	return r, true, nil
}

func (s *memSends) Prune(context.Context, time.Duration) (int64, error) { return 0, nil }

// memViews answers MessageReader from the messages it is given.
type memViews struct {
	msgs map[domain.MessageID]domain.Message
}

func (v memViews) Message(_ context.Context, u domain.UserID, id domain.MessageID) (domain.Message, error) {
	m, ok := v.msgs[id]
	if !ok || !m.Involves(u) {
		return domain.Message{}, domain.ErrNotFound
	}
	return m, nil
}

type env struct {
	cmd   commands.Commands
	log   *memLog
	views memViews
	now   time.Time
}

func newEnv(t *testing.T, limiter commands.Limiter) *env {
	t.Helper()
	e := &env{log: &memLog{}, views: memViews{msgs: map[domain.MessageID]domain.Message{}}, now: time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC)}
	cmd, err := commands.New(commands.Deps{
		Log:      e.log,
		Accounts: newMemAccounts(),
		SendLog:  &memSends{recs: map[string]commands.SendRecord{}},
		Messages: e.views,
		Limiter:  limiter,
		Clock:    func() time.Time { return e.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.cmd = cmd
	return e
}

func (e *env) register(t *testing.T, name string) commands.Registered {
	t.Helper()
	r, err := e.cmd.RegisterUser.Handle(context.Background(), commands.RegisterUser{Name: name})
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return r
}

func TestNewRejectsMissingPorts(t *testing.T) {
	if _, err := commands.New(commands.Deps{}); err == nil || !strings.Contains(err.Error(), "Log is nil") || !strings.Contains(err.Error(), "Accounts is nil") {
		t.Fatalf("New with no ports: %v", err)
	}
}

func TestRegisterAndAuthenticate(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	alice := e.register(t, "alice")
	if !strings.HasPrefix(alice.Token, commands.TokenPrefix) || len(alice.Token) < 40 {
		t.Fatalf("token %q", alice.Token)
	}
	u, err := e.cmd.Authenticate.Handle(ctx, alice.Token)
	if err != nil || u.ID != alice.User.ID {
		t.Fatalf("Authenticate: %v, %v", u, err)
	}
	for _, bad := range []string{"", "tdg_nope", alice.Token + "x", "Bearer " + alice.Token} {
		if _, err := e.cmd.Authenticate.Handle(ctx, bad); domain.CodeOf(err) != domain.CodeUnauthorized {
			t.Errorf("Authenticate(%q): %v", bad, err)
		}
	}
	_, err = e.cmd.RegisterUser.Handle(ctx, commands.RegisterUser{Name: "alice"})
	if domain.CodeOf(err) != domain.CodeNameTaken {
		t.Fatalf("second alice: %v", err)
	}
	_, err = e.cmd.RegisterUser.Handle(ctx, commands.RegisterUser{Name: "Not Valid"})
	if domain.CodeOf(err) != domain.CodeInvalidName {
		t.Fatalf("invalid name: %v", err)
	}
}

func TestSendMessageValidation(t *testing.T) {
	e := newEnv(t, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	tests := []struct {
		name string
		cmd  commands.SendMessage
		code domain.Code
	}{
		{"no recipient", commands.SendMessage{Text: "hi"}, domain.CodeMissingField},
		{"unknown recipient", commands.SendMessage{To: domain.UserID(domain.NewID(e.now)), Text: "hi"}, domain.CodeUnknownRecipient},
		{"malformed recipient", commands.SendMessage{To: "../x", Text: "hi"}, domain.CodeUnknownRecipient},
		{"to self", commands.SendMessage{To: alice.User.ID, Text: "hi"}, domain.CodeInvalidField},
		{"empty text", commands.SendMessage{To: bob.User.ID, Text: "  "}, domain.CodeEmptyText},
		{"long text", commands.SendMessage{To: bob.User.ID, Text: strings.Repeat("x", domain.MaxTextRunes+1)}, domain.CodeTextTooLong},
		{"bad utf-8", commands.SendMessage{To: bob.User.ID, Text: "\xff"}, domain.CodeInvalidUTF8},
		{"bad client id", commands.SendMessage{To: bob.User.ID, Text: "hi", ClientMsgID: "a b"}, domain.CodeInvalidField},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cmd.From = alice.User.ID
			_, err := e.cmd.SendMessage.Handle(context.Background(), tc.cmd)
			if got := domain.CodeOf(err); got != tc.code {
				t.Fatalf("code %q, want %q (%v)", got, tc.code, err)
			}
		})
	}
	if len(e.log.events) != 0 {
		t.Fatalf("invalid sends appended %d events", len(e.log.events))
	}
}

func TestSendMessageAppendsOneEvent(t *testing.T) {
	e := newEnv(t, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	sent, err := e.cmd.SendMessage.Handle(context.Background(), commands.SendMessage{From: alice.User.ID, To: bob.User.ID, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.log.events) != 1 {
		t.Fatalf("%d events", len(e.log.events))
	}
	ev := e.log.events[0].(domain.MessageSent)
	if ev.ID != sent.Message.ID || ev.Text != "hi" || ev.Key() != bob.User.ID || !ev.SentAt.Equal(e.now.Truncate(time.Millisecond)) {
		t.Fatalf("event %+v, message %+v", ev, sent.Message)
	}
	if sent.Message.Status != domain.StatusSent {
		t.Fatalf("status %v", sent.Message.Status)
	}
}

func TestSendMessageRetriesKeepOneID(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	cmd := commands.SendMessage{From: alice.User.ID, To: bob.User.ID, Text: "once", ClientMsgID: "c-1"}

	e.log.failNext = true // the first attempt's outcome is unknown to the client
	if _, err := e.cmd.SendMessage.Handle(ctx, cmd); err == nil {
		t.Fatal("want the append error")
	}
	e.now = e.now.Add(time.Minute)
	first, err := e.cmd.SendMessage.Handle(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.cmd.SendMessage.Handle(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if first.Message.ID != again.Message.ID || !first.Message.SentAt.Equal(again.Message.SentAt) {
		t.Fatalf("retries returned different messages: %+v vs %+v", first.Message, again.Message)
	}
	for i, ev := range e.log.events {
		if ev.Message() != first.Message.ID {
			t.Fatalf("a retry appended a different message id %s", ev.Message())
		}
		// The appends after the first attempt's reservation say they are
		// retries (projectors check for an earlier copy).
		if s, ok := ev.(domain.MessageSent); !ok || s.Retry != (i > 0) {
			t.Fatalf("append %d: %#v, want a MessageSent with Retry %v", i, ev, i > 0)
		}
	}
	other := cmd
	other.Text = "something else"
	if _, err := e.cmd.SendMessage.Handle(ctx, other); domain.CodeOf(err) != domain.CodeIdempotencyConflict {
		t.Fatalf("reused client_msg_id with new text: %v", err)
	}
	bobs := cmd
	bobs.From, bobs.To = bob.User.ID, alice.User.ID
	theirs, err := e.cmd.SendMessage.Handle(ctx, bobs)
	if err != nil || theirs.Message.ID == first.Message.ID {
		t.Fatalf("client_msg_id must be scoped to the sender: %v %v", theirs.Message.ID, err)
	}
	if s := e.log.events[len(e.log.events)-1].(domain.MessageSent); s.Retry {
		t.Fatalf("a first attempt appended %#v with Retry", s)
	}
}

func TestMarkReadOnlyByRecipient(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	alice, bob, carol := e.register(t, "alice"), e.register(t, "bob"), e.register(t, "carol")
	sent, err := e.cmd.SendMessage.Handle(ctx, commands.SendMessage{From: alice.User.ID, To: bob.User.ID, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	e.views.msgs[sent.Message.ID] = sent.Message
	for _, u := range []domain.UserID{alice.User.ID, carol.User.ID} {
		if _, err := e.cmd.MarkRead.Handle(ctx, commands.MarkRead{User: u, ID: sent.Message.ID}); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("MarkRead by %s: %v", u, err)
		}
	}
	if _, err := e.cmd.MarkRead.Handle(ctx, commands.MarkRead{User: bob.User.ID, ID: "nope"}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("MarkRead of a bad id: %v", err)
	}
	n := len(e.log.events)
	res, err := e.cmd.MarkRead.Handle(ctx, commands.MarkRead{User: bob.User.ID, ID: sent.Message.ID})
	if err != nil || res.Message.Status != domain.StatusRead || res.Position == nil || res.Message.ReadAt.IsZero() {
		t.Fatalf("MarkRead: %+v, %v", res, err)
	}
	if len(e.log.events) != n+1 || e.log.events[n].Type() != domain.TypeMessageRead {
		t.Fatalf("events after MarkRead: %v", e.log.events)
	}
	// Once the views say read, marking again appends nothing.
	e.views.msgs[sent.Message.ID] = res.Message
	again, err := e.cmd.MarkRead.Handle(ctx, commands.MarkRead{User: bob.User.ID, ID: sent.Message.ID})
	if err != nil || again.Position != nil || !again.Message.ReadAt.Equal(res.Message.ReadAt) {
		t.Fatalf("second MarkRead: %+v, %v", again, err)
	}
	if len(e.log.events) != n+1 {
		t.Fatal("second MarkRead appended an event")
	}
	if d, err := e.cmd.MarkDelivered.Handle(ctx, commands.MarkDelivered{User: bob.User.ID, ID: sent.Message.ID}); err != nil || d.Position != nil {
		t.Fatalf("MarkDelivered after read: %+v, %v", d, err)
	}
}

func TestRateLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	l := commands.NewRateLimiter(1, 3, func() time.Time { return now })
	for i := range 3 {
		if err := l.Allow(ctx, "u"); err != nil {
			t.Fatalf("send %d within the burst: %v", i, err)
		}
	}
	err := l.Allow(ctx, "u")
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.CodeRateLimited || de.RetryAfter != time.Second {
		t.Fatalf("over the burst: %v", err)
	}
	if err := l.Allow(ctx, "v"); err != nil {
		t.Fatalf("another user is limited too: %v", err)
	}
	now = now.Add(time.Second)
	if err := l.Allow(ctx, "u"); err != nil {
		t.Fatalf("after a refill: %v", err)
	}
}

// syncer copies a message into the views when asked to sync, as a
// projector catching up with its MessageSent would.
type syncer struct {
	views memViews
	msg   domain.Message
	calls int
}

func (s *syncer) Sync(_ context.Context, _ domain.UserID) error {
	s.calls++
	s.views.msgs[s.msg.ID] = s.msg
	return nil
}

func TestMarkReadWaitsOnlyForAMessageTheViewsDoNotHoldYet(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	sent, err := e.cmd.SendMessage.Handle(ctx, commands.SendMessage{From: alice.User.ID, To: bob.User.ID, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	s := &syncer{views: e.views, msg: sent.Message} // the views do not hold it until synced
	cmd, err := commands.New(commands.Deps{Log: e.log, Accounts: newMemAccounts(),
		SendLog: &memSends{recs: map[string]commands.SendRecord{}}, Messages: e.views, Sync: s})
	if err != nil {
		t.Fatal(err)
	}
	n := len(e.log.events)
	res, err := cmd.MarkRead.Handle(ctx, commands.MarkRead{User: bob.User.ID, ID: sent.Message.ID})
	if err != nil || s.calls != 1 || res.Position == nil || len(e.log.events) != n+1 {
		t.Fatalf("MarkRead of a message not yet in the views: %+v, %v, sync calls %d", res, err, s.calls)
	}
	// The views have not applied the read yet: a repeat (a retried PATCH,
	// another device) appends nothing and does not wait for them.
	first := res.Message
	res, err = cmd.MarkRead.Handle(ctx, commands.MarkRead{User: bob.User.ID, ID: sent.Message.ID})
	if err != nil || s.calls != 1 || res.Position != nil || len(e.log.events) != n+1 {
		t.Fatalf("a repeated MarkRead: %+v, %v, sync calls %d, %d events appended", res, err, s.calls, len(e.log.events)-n)
	}
	if res.Message.Status != domain.StatusRead || !res.Message.ReadAt.Equal(first.ReadAt) || !res.Message.DeliveredAt.Equal(first.DeliveredAt) {
		t.Fatalf("a repeated MarkRead answered %+v, want the first answer %+v", res.Message, first)
	}
	// Nor does a delivery after the read.
	d, err := cmd.MarkDelivered.Handle(ctx, commands.MarkDelivered{User: bob.User.ID, ID: sent.Message.ID})
	if err != nil || d.Position != nil || len(e.log.events) != n+1 {
		t.Fatalf("MarkDelivered after MarkRead: %+v, %v", d, err)
	}
}

// countingSync counts syncs and changes nothing.
type countingSync struct{ n int }

func (c *countingSync) Sync(context.Context, domain.UserID) error { c.n++; return nil }

func TestMarkDeliveredAllDoesNotWaitForTheViews(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	var ids []domain.MessageID
	for i := range 3 {
		s, err := e.cmd.SendMessage.Handle(ctx, commands.SendMessage{From: alice.User.ID, To: bob.User.ID, Text: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		e.views.msgs[s.Message.ID] = s.Message
		ids = append(ids, s.Message.ID)
	}
	done := e.views.msgs[ids[1]]
	done.Status = domain.StatusDelivered
	e.views.msgs[ids[1]] = done
	ids = append(ids, domain.MessageID(domain.NewID(time.Now()))) // unknown

	cs := &countingSync{}
	cmd, err := commands.New(commands.Deps{Log: e.log, Accounts: newMemAccounts(),
		SendLog: &memSends{recs: map[string]commands.SendRecord{}}, Messages: e.views, Sync: cs})
	if err != nil {
		t.Fatal(err)
	}
	n := len(e.log.events)
	res, errs := cmd.MarkDelivered.HandleAll(ctx, bob.User.ID, ids)
	if cs.n != 0 { // the ids come from the views: nothing to wait for
		t.Fatalf("synced %d times for ids the views listed, want 0", cs.n)
	}
	for i, want := range []bool{true, false, true} {
		if errs[i] != nil || res[i].Message.Status != domain.StatusDelivered || (res[i].Position != nil) != want {
			t.Fatalf("result %d: %+v, %v", i, res[i], errs[i])
		}
	}
	if !errors.Is(errs[3], domain.ErrNotFound) {
		t.Fatalf("unknown id: %v", errs[3])
	}
	if got := len(e.log.events) - n; got != 2 {
		t.Fatalf("appended %d events, want 2", got)
	}
}
