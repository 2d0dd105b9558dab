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
//	go run ./cmd/tidings-bench -addr http://127.0.0.1:8080 # a running server (--send-rate 0 --signup-rate 0)
//	go run ./cmd/tidings-bench -spawn -with-ceilings       # and the bare-HTTP ceiling, same invocation
//	go run ./cmd/tidings-bench -spawn -idle 10000          # server memory per idle WebSocket
//	go run ./cmd/tidings-bench -ceiling produce            # raw embedded event-log append rate
//	go run ./cmd/tidings-bench -ceiling produce -brokers 127.0.0.1:19092   # the same on Kafka
//	go run ./cmd/tidings-bench -ceiling cassandra          # raw Cassandra view-write rate
//	go run ./cmd/tidings-bench -ceiling http               # bare net/http JSON POST, this process
//	go run ./cmd/tidings-bench -ceiling ws                 # bare WebSocket push, this process
//
// Every result carries the date, the git commit and the load average
// before and after; -cpuprofile profiles the tool itself.
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
	"runtime/pprof"
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
	os.Exit(execute(ctx, c))
}

// execute runs what the flags ask for and returns the exit status.
func execute(ctx context.Context, c *config) int {
	if c.CPUProfile != "" {
		stop, err := startCPUProfile(c.CPUProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tidings-bench:", err)
			return 2
		}
		defer stop()
	}
	switch {
	case c.Ceiling != "":
		if err := runCeiling(ctx, c); err != nil {
			fmt.Fprintln(os.Stderr, "tidings-bench:", err)
			return 1
		}
		return 0
	case c.Idle > 0:
		res, err := runIdle(ctx, c, os.Stderr)
		if res != nil {
			res.print(os.Stdout)
			if c.Out != "" {
				if werr := writeJSON(c.Out, res); werr != nil {
					fmt.Fprintln(os.Stderr, "tidings-bench:", werr)
				}
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "tidings-bench:", err)
			return 1
		}
		return 0
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
		return 1
	}
	if !res.Verification.OK {
		fmt.Fprintln(os.Stderr, "tidings-bench: VERIFICATION FAILED (see above)")
		return 1
	}
	return 0
}

// startCPUProfile profiles this process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "tidings-bench: -cpuprofile:", err)
		}
	}, nil
}
