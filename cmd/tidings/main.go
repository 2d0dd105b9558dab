// Command tidings runs the tidings messaging backend.
//
//	tidings [serve] [flags]      start the API, projector and (by default) the embedded broker
//	tidings replay [flags]       drop every view and rebuild it from the event log
//	tidings migrate [flags]      apply the real stores' schema migrations
//	tidings users add NAME       create an account and print its id and token
//	tidings shards ...           list shards, move one to another placement online
//	tidings version              print the version, VCS revision and Go version
//	tidings help                 show this help
//
// Every flag has a TIDINGS_* environment variable; run "tidings serve -h".
// -h on the command or any subcommand prints its usage and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `tidings: event-sourced 1:1 messaging

usage:
  tidings [serve] [flags]     start the server (embedded backends by default)
  tidings replay [flags]      drop every view and rebuild it from the event log
  tidings migrate [flags]     apply the PostgreSQL and Cassandra schema migrations
  tidings users add NAME      create an account; prints "id token"
  tidings shards ...          list virtual shards and move them between placements
  tidings version             print the version, VCS revision and Go version
  tidings help                this text

Run "tidings serve -h" for the flags; each has a TIDINGS_* environment variable.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) { // -h: the usage went out; asking is no failure
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "tidings:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) > 0 && helpAsked(args[:1]) {
		fmt.Print(usage)
		return nil
	}
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args)
	case "replay":
		return replay(ctx, args)
	case "migrate":
		return migrate(ctx, args)
	case "users":
		return users(ctx, args)
	case "shards":
		return shards(ctx, args)
	case "version", "-version", "--version":
		return version(args)
	case "help", "-h", "-help", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
