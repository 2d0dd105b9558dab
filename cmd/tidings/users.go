package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// users runs "tidings users add NAME [flags]".
func users(ctx context.Context, args []string) error {
	if len(args) < 2 || args[0] != "add" {
		return fmt.Errorf("usage: tidings users add NAME [flags]")
	}
	name := args[1]
	c, err := parse("users add", args[2:]) // for --session-lifetime
	if err != nil {
		return err
	}
	return withBackends(ctx, "users add", args[2:], func(b *backends, _ *slog.Logger) error {
		cmds, err := commands.New(commands.Deps{Log: noLog{}, Accounts: b.accounts, SendLog: b.sends, Messages: b.views,
			SessionLifetime: c.SessionLifetime})
		if err != nil {
			return err
		}
		reg, err := cmds.RegisterUser.Handle(ctx, commands.RegisterUser{Name: name})
		if err != nil {
			return err
		}
		fmt.Printf("%s %s\n", reg.User.ID, reg.Token)
		return nil
	})
}

// noLog is the event log of commands that append no events.
type noLog struct{}

func (noLog) Append(context.Context, domain.Event) (domain.Position, error) {
	return domain.Position{}, errors.New("this command appends no events")
}
