package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

func TestReadUpToOnlyByTheRecipientOfThePeersMessage(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	alice, bob, carol := e.register(t, "alice"), e.register(t, "bob"), e.register(t, "carol")
	sent, err := e.cmd.SendMessage.Handle(ctx, commands.SendMessage{From: alice.User.ID, To: bob.User.ID, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	e.views.msgs[sent.Message.ID] = sent.Message
	id := sent.Message.ID
	refused := []struct {
		name string
		cmd  commands.ReadUpTo
	}{
		{"the sender", commands.ReadUpTo{User: alice.User.ID, Peer: bob.User.ID, UpTo: id}},
		{"a stranger", commands.ReadUpTo{User: carol.User.ID, Peer: alice.User.ID, UpTo: id}},
		{"another peer's conversation", commands.ReadUpTo{User: bob.User.ID, Peer: carol.User.ID, UpTo: id}},
		{"a peer that is no id", commands.ReadUpTo{User: bob.User.ID, Peer: "x y", UpTo: id}},
		{"an unknown message", commands.ReadUpTo{User: bob.User.ID, Peer: alice.User.ID, UpTo: "nope"}},
	}
	n := len(e.log.events)
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.cmd.ReadUpTo.Handle(ctx, tc.cmd); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("ReadUpTo: %v, want not found", err)
			}
		})
	}
	if len(e.log.events) != n {
		t.Fatalf("refused markers appended %v", e.log.events[n:])
	}
	for _, peer := range []domain.UserID{alice.User.ID, ""} { // "" as the WebSocket frame asks
		res, err := e.cmd.ReadUpTo.Handle(ctx, commands.ReadUpTo{User: bob.User.ID, Peer: peer, UpTo: id})
		want := domain.ConversationRead{ID: id, From: alice.User.ID, To: bob.User.ID, ReadAt: e.now.Truncate(1e6)}
		if err != nil || res.Event != want || res.Message.ID != id {
			t.Fatalf("ReadUpTo with peer %q: %+v, %v; want %+v", peer, res, err, want)
		}
	}
	// Every marker is appended, also a repeat: the views keep the highest.
	if len(e.log.events) != n+2 || e.log.events[n+1].Type() != domain.TypeConversationRead {
		t.Fatalf("events: %v", e.log.events[n:])
	}
}
