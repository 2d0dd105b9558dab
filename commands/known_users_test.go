package commands_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// countingAccounts counts recipient lookups.
type countingAccounts struct {
	*memAccounts
	lookups atomic.Int64
}

func (c *countingAccounts) User(ctx context.Context, id domain.UserID) (domain.User, error) {
	c.lookups.Add(1)
	return c.memAccounts.User(ctx, id)
}

func TestSendLooksUpAKnownRecipientOnce(t *testing.T) {
	ctx := context.Background()
	acc := &countingAccounts{memAccounts: newMemAccounts()}
	cmd, err := commands.New(commands.Deps{Log: &memLog{}, Accounts: acc, SendLog: &memSends{recs: map[string]commands.SendRecord{}},
		Messages: memViews{msgs: map[domain.MessageID]domain.Message{}}, Clock: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := cmd.RegisterUser.Handle(ctx, commands.RegisterUser{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := cmd.RegisterUser.Handle(ctx, commands.RegisterUser{Name: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	stranger := domain.UserID(domain.NewID(time.Now()))
	tests := []struct {
		name    string
		to      domain.UserID
		code    domain.Code
		lookups int64
	}{
		{"first send to bob asks the store", bob.User.ID, "", 1},
		{"second send to bob does not", bob.User.ID, "", 1},
		{"an unknown recipient is refused", stranger, domain.CodeUnknownRecipient, 2},
		{"and is not remembered as known", stranger, domain.CodeUnknownRecipient, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cmd.SendMessage.Handle(ctx, commands.SendMessage{From: alice.User.ID, To: tc.to, Text: "hi"})
			var de *domain.Error
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("send: %v", err)
			case tc.code != "" && (!errors.As(err, &de) || de.Code != tc.code):
				t.Fatalf("send: %v, want %s", err, tc.code)
			}
			if got := acc.lookups.Load(); got != tc.lookups {
				t.Fatalf("%d lookups, want %d", got, tc.lookups)
			}
		})
	}
}
