package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// TestEditAndDeleteRules drives the edit, delete-for-everyone and
// delete-for-me commands through their rules: who may, the windows, the
// tombstone, and what each appends.
func TestEditAndDeleteRules(t *testing.T) {
	ctx := context.Background()
	type step struct {
		name    string
		setup   func(m *domain.Message) // the message as the views hold it
		later   time.Duration           // the clock, after the send
		run     func(e *env, alice, bob, carol domain.UserID, id domain.MessageID) (*domain.Position, domain.Message, error)
		wantErr error
		code    domain.Code
		appends string // type of the event appended, "" for none
		check   func(t *testing.T, ev domain.Event, m domain.Message)
	}
	edit := func(by func(a, b, c domain.UserID) domain.UserID, text string) func(e *env, a, b, c domain.UserID, id domain.MessageID) (*domain.Position, domain.Message, error) {
		return func(e *env, a, b, c domain.UserID, id domain.MessageID) (*domain.Position, domain.Message, error) {
			r, err := e.cmd.EditMessage.Handle(ctx, commands.EditMessage{User: by(a, b, c), ID: id, Text: text})
			return r.Position, r.Message, err
		}
	}
	del := func(by func(a, b, c domain.UserID) domain.UserID) func(e *env, a, b, c domain.UserID, id domain.MessageID) (*domain.Position, domain.Message, error) {
		return func(e *env, a, b, c domain.UserID, id domain.MessageID) (*domain.Position, domain.Message, error) {
			r, err := e.cmd.DeleteMessage.Handle(ctx, commands.DeleteMessage{User: by(a, b, c), ID: id})
			return r.Position, r.Message, err
		}
	}
	hide := func(by func(a, b, c domain.UserID) domain.UserID) func(e *env, a, b, c domain.UserID, id domain.MessageID) (*domain.Position, domain.Message, error) {
		return func(e *env, a, b, c domain.UserID, id domain.MessageID) (*domain.Position, domain.Message, error) {
			pos, err := e.cmd.HideMessage.Handle(ctx, commands.HideMessage{User: by(a, b, c), ID: id})
			return pos, domain.Message{}, err
		}
	}
	sender := func(a, _, _ domain.UserID) domain.UserID { return a }
	recipient := func(_, b, _ domain.UserID) domain.UserID { return b }
	stranger := func(_, _, c domain.UserID) domain.UserID { return c }
	for _, tc := range []step{
		{name: "sender edits", later: time.Minute, run: edit(sender, "hi, fixed"), appends: domain.TypeMessageEdited,
			check: func(t *testing.T, ev domain.Event, m domain.Message) {
				e := ev.(domain.MessageEdited)
				if e.Version != 2 || e.Text != "hi, fixed" || m.Version != 2 || m.Text != "hi, fixed" || m.EditedAt.IsZero() {
					t.Fatalf("edit: event %+v, message %+v", e, m)
				}
			}},
		{name: "second edit is version 3", setup: func(m *domain.Message) { m.Version, m.Text = 2, "v2" }, run: edit(sender, "v3"), appends: domain.TypeMessageEdited,
			check: func(t *testing.T, ev domain.Event, _ domain.Message) {
				if v := ev.(domain.MessageEdited).Version; v != 3 {
					t.Fatalf("version %d, want 3", v)
				}
			}},
		{name: "same text appends nothing", run: edit(sender, "hi")},
		{name: "recipient cannot edit", run: edit(recipient, "x"), wantErr: domain.ErrNotFound},
		{name: "stranger cannot edit", run: edit(stranger, "x"), wantErr: domain.ErrNotFound},
		{name: "blank edit", run: edit(sender, " \u200b"), code: domain.CodeEmptyText},
		{name: "edit after the window", later: commands.EditWindow + time.Second, run: edit(sender, "late"), code: domain.CodeEditWindowClosed},
		{name: "edit of a deleted message", setup: func(m *domain.Message) { *m = commands.Tombstone(*m, m.SentAt) }, run: edit(sender, "x"), code: domain.CodeMessageDeleted},
		{name: "edit of a hidden message", setup: func(m *domain.Message) { m.Hidden = true }, run: edit(sender, "x"), wantErr: domain.ErrNotFound},
		{name: "sender deletes for everyone", later: time.Hour, run: del(sender), appends: domain.TypeMessageDeleted,
			check: func(t *testing.T, _ domain.Event, m domain.Message) {
				if !m.Deleted || m.Text != "" || m.DeletedAt.IsZero() {
					t.Fatalf("tombstone: %+v", m)
				}
			}},
		{name: "delete twice appends nothing", setup: func(m *domain.Message) { *m = commands.Tombstone(*m, m.SentAt) }, run: del(sender)},
		{name: "recipient cannot delete for everyone", run: del(recipient), wantErr: domain.ErrNotFound},
		{name: "delete after the window", later: commands.DeleteWindow + time.Second, run: del(sender), code: domain.CodeDeleteWindowClosed},
		{name: "recipient deletes for themself", later: 30 * 24 * time.Hour, run: hide(recipient), appends: domain.TypeMessageHidden,
			check: func(t *testing.T, ev domain.Event, _ domain.Message) {
				if e := ev.(domain.MessageHidden); e.By != e.To {
					t.Fatalf("hidden by %s, want the recipient", e.By)
				}
			}},
		{name: "sender deletes a tombstone for themself", setup: func(m *domain.Message) { *m = commands.Tombstone(*m, m.SentAt) }, run: hide(sender), appends: domain.TypeMessageHidden},
		{name: "stranger cannot hide", run: hide(stranger), wantErr: domain.ErrNotFound},
		{name: "hide twice", setup: func(m *domain.Message) { m.Hidden = true }, run: hide(recipient), wantErr: domain.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			alice, bob, carol := e.register(t, "alice").User.ID, e.register(t, "bob").User.ID, e.register(t, "carol").User.ID
			sent, err := e.cmd.SendMessage.Handle(ctx, commands.SendMessage{From: alice, To: bob, Text: "hi"})
			if err != nil {
				t.Fatal(err)
			}
			m := sent.Message
			if tc.setup != nil {
				tc.setup(&m)
			}
			e.views.msgs[m.ID] = m
			e.now = e.now.Add(tc.later)
			n := len(e.log.events)
			pos, got, err := tc.run(e, alice, bob, carol, m.ID)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
			case tc.code != "":
				if domain.CodeOf(err) != tc.code {
					t.Fatalf("err %v, want code %s", err, tc.code)
				}
			case err != nil:
				t.Fatal(err)
			}
			added := e.log.events[n:]
			if tc.appends == "" {
				if len(added) != 0 || pos != nil {
					t.Fatalf("appended %v (position %v), want nothing", added, pos)
				}
				return
			}
			if len(added) != 1 || added[0].Type() != tc.appends || pos == nil {
				t.Fatalf("appended %v, want one %s", added, tc.appends)
			}
			if err := domain.ValidateEvent(added[0]); err != nil {
				t.Fatalf("the views would refuse the event: %v", err)
			}
			if added[0].Key() != bob {
				t.Fatalf("%s keyed by %s, want the recipient", added[0].Type(), added[0].Key())
			}
			if tc.check != nil {
				tc.check(t, added[0], got)
			}
		})
	}
}

// TestReplyRules: a reply names a message of its conversation that the
// sender sees, and the version it answered; anything else is one error.
func TestReplyRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	alice, bob, carol := e.register(t, "alice").User.ID, e.register(t, "bob").User.ID, e.register(t, "carol").User.ID
	send := func(from, to domain.UserID, replyTo domain.MessageID) (domain.MessageSent, error) {
		n := len(e.log.events)
		_, err := e.cmd.SendMessage.Handle(ctx, commands.SendMessage{From: from, To: to, Text: "re", ReplyTo: replyTo})
		if err != nil {
			return domain.MessageSent{}, err
		}
		return e.log.events[n].(domain.MessageSent), nil
	}
	put := func(from, to domain.UserID, set func(*domain.Message)) domain.MessageID {
		s, err := send(from, to, "")
		if err != nil {
			t.Fatal(err)
		}
		m := s.AsMessage()
		if set != nil {
			set(&m)
		}
		e.views.msgs[m.ID] = m
		return m.ID
	}
	plain := put(bob, alice, nil)
	edited := put(alice, bob, func(m *domain.Message) { m.Version, m.Text = 3, "v3" })
	other := put(carol, bob, nil)
	gone := put(bob, alice, func(m *domain.Message) { *m = commands.Tombstone(*m, m.SentAt) })
	hidden := put(bob, alice, func(m *domain.Message) { m.Hidden = true })
	for _, tc := range []struct {
		name    string
		replyTo domain.MessageID
		version int // 0: refused
	}{
		{"a message received", plain, 1},
		{"an edited message of one's own", edited, 3},
		{"a message of another conversation", other, 0},
		{"an unknown id", domain.MessageID(domain.NewID(e.now)), 0},
		{"not an id", "nope", 0},
		{"a message deleted for everyone", gone, 0},
		{"a message one deleted for oneself", hidden, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := send(alice, bob, tc.replyTo)
			if tc.version == 0 {
				if domain.CodeOf(err) != domain.CodeInvalidReplyTo {
					t.Fatalf("err %v, want %s", err, domain.CodeInvalidReplyTo)
				}
				return
			}
			if err != nil || ev.ReplyTo != tc.replyTo || ev.ReplyVersion != tc.version || domain.ValidateEvent(ev) != nil {
				t.Fatalf("reply: %+v, %v; want reply_to %s version %d", ev, err, tc.replyTo, tc.version)
			}
		})
	}
}

// TestReactionRules: either party reacts with one emoji, naming the
// text's version; a repeat or removing none appends nothing.
func TestReactionRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	alice, bob, carol := e.register(t, "alice").User.ID, e.register(t, "bob").User.ID, e.register(t, "carol").User.ID
	sent, err := e.cmd.SendMessage.Handle(ctx, commands.SendMessage{From: alice, To: bob, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	m := sent.Message
	m.Version, m.Text = 2, "hi!"
	e.views.msgs[m.ID] = m
	react := func(u domain.UserID, emoji string) (commands.Changed, int, error) {
		n := len(e.log.events)
		res, err := e.cmd.ReactMessage.Handle(ctx, commands.ReactMessage{User: u, ID: m.ID, Emoji: emoji})
		if err == nil {
			e.views.msgs[m.ID] = res.Message
		}
		return res, len(e.log.events) - n, err
	}
	for _, tc := range []struct {
		name    string
		user    domain.UserID
		emoji   string
		appends int
		code    domain.Code
	}{
		{"recipient reacts", bob, "👍", 1, ""},
		{"the same again", bob, "👍", 0, ""},
		{"recipient changes it", bob, "❤️", 1, ""},
		{"sender reacts too", alice, "😂", 1, ""},
		{"not one emoji", bob, "ok", 0, domain.CodeInvalidEmoji},
		{"a stranger", carol, "👍", 0, domain.CodeNotFound},
		{"recipient removes it", bob, "", 1, ""},
		{"removing none", bob, "", 0, ""},
	} {
		res, n, err := react(tc.user, tc.emoji)
		if domain.CodeOf(err) != tc.code && (tc.code != "" || err != nil) {
			t.Fatalf("%s: err %v, want %q", tc.name, err, tc.code)
		}
		if n != tc.appends {
			t.Fatalf("%s: appended %d events, want %d", tc.name, n, tc.appends)
		}
		if n == 1 {
			ev := e.log.events[len(e.log.events)-1].(domain.MessageReacted)
			if ev.By != tc.user || ev.Emoji != tc.emoji || ev.Version != 2 || ev.Key() != bob || domain.ValidateEvent(ev) != nil {
				t.Fatalf("%s: event %+v", tc.name, ev)
			}
			if got := res.Message.Reactions[res.Message.ReactionIndex(tc.user)]; got.Emoji != tc.emoji {
				t.Fatalf("%s: answered reactions %+v", tc.name, res.Message.Reactions)
			}
		}
	}
	e.views.msgs[m.ID] = commands.Tombstone(m, m.SentAt)
	if _, _, err := react(bob, "👍"); domain.CodeOf(err) != domain.CodeMessageDeleted {
		t.Fatalf("reaction to a deleted message: %v", err)
	}
}
