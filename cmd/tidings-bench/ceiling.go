package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// ceilingResult is one raw ceiling: what one component does on this
// machine with nothing of tidings around it, to compare full runs with.
type ceilingResult struct {
	Kind        string  `json:"kind"`   // produce, cassandra, http or ws
	Target      string  `json:"target"` // what was measured, in words
	Unit        string  `json:"unit"`   // what Rate counts: appends, messages, requests, frames
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Ops         int64   `json:"ops"`
	Failed      int64   `json:"failed"`
	Rate        float64 `json:"per_s"`
	Latency     summary `json:"latency"` // of one operation; for ws, empty
	// CPUMicrosPerOp is this process's CPU per operation. For http and ws
	// the bare server runs in this process too, so it is client and
	// server together.
	CPUMicrosPerOp float64 `json:"process_cpu_us_per_op"`
	FirstError     string  `json:"first_error,omitempty"`
}

func (r *ceilingResult) print(w io.Writer) {
	fmt.Fprintf(w, "ceiling %-9s %s, %d concurrent: %.0f %s/s over %.1f s (%d, failed %d), process CPU %.1f µs per %s",
		r.Kind, r.Target, r.Concurrency, r.Rate, r.Unit, r.Seconds, r.Ops, r.Failed, r.CPUMicrosPerOp, singular(r.Unit))
	if r.Latency.Count > 0 {
		fmt.Fprintf(w, "; latency ms p50 %.2f p99 %.2f max %.2f", r.Latency.P50, r.Latency.P99, r.Latency.Max)
	}
	fmt.Fprintln(w)
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
}

func singular(unit string) string {
	if len(unit) > 1 && unit[len(unit)-1] == 's' {
		return unit[:len(unit)-1]
	}
	return unit
}

// ceilings are the ceilings a full run measured in the same invocation
// (-with-ceilings) and the run's accepted rate as a fraction of each.
type ceilings struct {
	HTTP *ceilingResult `json:"http"`
	// FractionOfHTTP is accepted msg/s ÷ bare-HTTP req/s: issue 10's
	// "embedded rate as a fraction of the bare-HTTP ceiling".
	FractionOfHTTP float64 `json:"rate_fraction_of_http"`
}

// withCeilingsDuration is how long -with-ceilings measures each ceiling.
const withCeilingsDuration = 5 * time.Second

// measureCeilings runs the bare-HTTP ceiling for withCeilingsDuration
// with -concurrency connections, before the load phase of a full run.
func (r *runner) measureCeilings(ctx context.Context, out io.Writer) (*ceilings, error) {
	d := cmp.Or(r.cfg.ceilingsFor, withCeilingsDuration)
	fmt.Fprintf(out, "measuring the bare-HTTP ceiling for %v (%d connections) …\n", d, r.cfg.Concurrency)
	h, err := ceilingHTTP(ctx, r.cfg, d)
	if err != nil {
		return nil, fmt.Errorf("-with-ceilings: %w", err)
	}
	h.print(out)
	return &ceilings{HTTP: h}, nil
}

// fractions sets the run's rate as a fraction of each ceiling.
func (c *ceilings) fractions(rate float64) {
	if c.HTTP != nil && c.HTTP.Rate > 0 {
		c.FractionOfHTTP = rate / c.HTTP.Rate
	}
}

// ceilingReport is what -ceiling writes to -out.
type ceilingReport struct {
	Env     runEnv         `json:"env"`
	Ceiling *ceilingResult `json:"ceiling"`
}

// runCeiling measures one raw component ceiling (-ceiling) for -duration
// from -concurrency callers, prints it and writes it to -out.
func runCeiling(ctx context.Context, c *config) error {
	env := newRunEnv(ctx)
	var (
		res *ceilingResult
		err error
	)
	switch c.Ceiling {
	case "produce":
		res, err = ceilingProduce(ctx, c)
	case "cassandra":
		res, err = ceilingCassandra(ctx, c)
	case "http":
		res, err = ceilingHTTP(ctx, c, c.Duration)
	case "ws":
		res, err = ceilingWS(ctx, c, c.Duration)
	default:
		err = fmt.Errorf("-ceiling %q: want produce, cassandra, http or ws", c.Ceiling)
	}
	if err != nil {
		return err
	}
	env.done()
	res.print(os.Stdout)
	env.print(os.Stdout)
	if c.Out == "" {
		return nil
	}
	b, err := json.MarshalIndent(ceilingReport{Env: env, Ceiling: res}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(c.Out, append(b, '\n'), 0o644)
}
