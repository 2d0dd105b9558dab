package main

import (
	"fmt"
	"io"
	"time"
)

// point is one second of the run, for the plots.
type point struct {
	T           float64 `json:"t_s"`
	AcceptedPS  int64   `json:"accepted_per_s"`
	ReceivedPS  int64   `json:"received_per_s"`
	AcceptP50ms float64 `json:"accept_p50_ms"`
	AcceptP99ms float64 `json:"accept_p99_ms"`
	E2EP50ms    float64 `json:"e2e_p50_ms"`
	E2EP99ms    float64 `json:"e2e_p99_ms"`
}

// progress prints a live line once a second (unless -quiet) and records
// the time series, until stop is closed.
func (r *runner) progress(out io.Writer, start time.Time, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-stop:
			if !r.cfg.Quiet {
				fmt.Fprintln(out)
			}
			return
		case <-t.C:
		}
		now := time.Now()
		w := r.ledger.takeWindow()
		secs := now.Sub(last).Seconds()
		last = now
		p := point{T: now.Sub(start).Seconds(), AcceptedPS: int64(float64(w.accepted) / secs),
			ReceivedPS:  int64(float64(w.received) / secs),
			AcceptP50ms: ms(w.accept.Quantile(0.5)), AcceptP99ms: ms(w.accept.Quantile(0.99)),
			E2EP50ms: ms(w.e2e.Quantile(0.5)), E2EP99ms: ms(w.e2e.Quantile(0.99))}
		r.series = append(r.series, p)
		if r.cfg.Quiet {
			continue
		}
		s := r.ledger.snapshot()
		fmt.Fprintf(out, "\r%5.0fs sent %d acked %d received %d read-receipts %d | %d msg/s | p99 accept %.1f ms e2e %.1f ms | errors %d   ",
			p.T, s.Scheduled, s.Accepted, s.Received, s.Receipts, p.AcceptedPS, p.AcceptP99ms, p.E2EP99ms, r.errs.total())
	}
}

func ms(us uint64) float64 { return float64(us) / 1000 }
