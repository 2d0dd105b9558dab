package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

const usersUsage = `usage:
  tidings users add NAME [flags]   create an account; prints "ID TOKEN"
The flags are those of "tidings serve -h" that name the backends (--data, --postgres-url, ...).
`

// users runs "tidings users add NAME [flags]".
func users(ctx context.Context, args []string) error {
	if helpAsked(args) || (len(args) == 1 && args[0] == "help") {
		fmt.Print(usersUsage)
		return nil
	}
	if len(args) < 2 || args[0] != "add" {
		return errors.New(usersUsage)
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
