package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/tidings-chat/tidings/projections"
)

// replay drops every view and rebuilds it from the start of the log,
// printing progress. Run it with the servers that share the views stopped
// (the embedded store refuses a second process anyway).
func replay(ctx context.Context, args []string) error {
	return withBackends(ctx, "replay", args, func(b *backends, log *slog.Logger) error {
		if err := b.views.Reset(ctx); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "views dropped; replaying the event log")
		start := time.Now()
		n, err := projections.Replay(ctx, b.stream, b.views, progressPrinter("replay", start))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return err
		}
		el := time.Since(start)
		fmt.Printf("replayed %d events in %s (%.0f events/s)\n", n, el.Round(time.Millisecond), float64(n)/max(el.Seconds(), 1e-9))
		return nil
	})
}

// progressPrinter prints "step: done/total, rate, ETA" on one updating
// line of stderr.
func progressPrinter(step string, start time.Time) projections.Progress {
	return func(done, total int64) {
		el := time.Since(start).Seconds()
		rate := float64(done) / max(el, 1e-9)
		eta := "?"
		if rate > 0 {
			eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
		}
		pct := 100 * float64(done) / float64(max(total, 1))
		fmt.Fprintf(os.Stderr, "\r%s: %d/%d events (%.1f%%), %.0f events/s, ETA %s   ", step, done, total, pct, rate, eta)
	}
}
