// Command tidings-bench is the load generator of tidings: it registers
// simulated users, connects their devices over WebSocket, sends 1:1
// messages on an open-loop schedule (or as fast as accepted) over REST or
// the socket, marks them read, and measures accept latency, end-to-end push
// latency, read-receipt latency, projection lag and throughput with
// log-linear histograms. At the end it verifies that every accepted message
// reached every device of its recipient exactly once and in order per
// sender→recipient pair, and that every read reached its sender; any
// violation exits with status 1.
//
//	go run ./cmd/tidings-bench -spawn                      # embedded server it starts itself
//	go run ./cmd/tidings-bench -spawn -backends real       # Kafka, Cassandra, PostgreSQL
//	go run ./cmd/tidings-bench -spawn -fault kill          # SIGKILL + restart halfway
//	go run ./cmd/tidings-bench -spawn -backends real -fault kill,broker,cassandra
//	                                                       # also restart Kafka and Cassandra under it
//	go run ./cmd/tidings-bench -addr http://127.0.0.1:8080 # a running server (--send-rate 0)
//	go run ./cmd/tidings-bench -ceiling produce            # raw event-log append rate
//	go run ./cmd/tidings-bench -ceiling cassandra          # raw Cassandra view-write rate
//
// It only ever talks to loopback addresses, and every run is bounded by
// -duration plus -drain.
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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &config{}
	fs := flag.NewFlagSet("tidings-bench", flag.ContinueOnError)
	c.flags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	if err := c.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "tidings-bench: invalid flags:\n%v\n", err)
		os.Exit(2)
	}
	if c.Ceiling != "" {
		if err := runCeiling(ctx, c); err != nil {
			fmt.Fprintln(os.Stderr, "tidings-bench:", err)
			os.Exit(1)
		}
		return
	}
	res, err := run(ctx, c, os.Stderr)
	if res != nil {
		printSummary(os.Stdout, res)
		if c.Out != "" {
			if werr := writeJSON(c.Out, res); werr != nil {
				fmt.Fprintln(os.Stderr, "tidings-bench:", werr)
			}
		}
		if c.Plot != "" {
			if perr := writePlots(c.Plot, res); perr != nil {
				fmt.Fprintln(os.Stderr, "tidings-bench:", perr)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tidings-bench:", err)
		os.Exit(1)
	}
	if !res.Verification.OK {
		fmt.Fprintln(os.Stderr, "tidings-bench: VERIFICATION FAILED (see above)")
		os.Exit(1)
	}
}
