package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"time"
)

// results is what a run writes to -out.
type results struct {
	RunID   string    `json:"run_id"`
	Started time.Time `json:"started"`
	Target  string    `json:"target"`
	Env     runEnv    `json:"env"`
	Config  struct {
		Users    int     `json:"users"`
		Devices  int     `json:"devices"`
		Rate     float64 `json:"rate"`
		Duration string  `json:"duration"`
		Via      string  `json:"via"`
		Size     int     `json:"size"`
		Read     float64 `json:"read"`
		Backends string  `json:"backends,omitempty"`
		Fault    string  `json:"fault,omitempty"`
	} `json:"config"`
	Host struct {
		CPUs int    `json:"cpus"`
		Go   string `json:"go"`
	} `json:"host"`
	SendSeconds   float64          `json:"send_seconds"`
	DrainSeconds  float64          `json:"drain_seconds"`
	Throughput    float64          `json:"accepted_per_s"`
	Counts        counters         `json:"counts"`
	Errors        map[string]int64 `json:"errors"`
	Accept        summary          `json:"accept_latency"`
	E2E           summary          `json:"e2e_latency"`
	ReadReceipt   summary          `json:"read_receipt_latency"`
	ProjectionLag summary          `json:"projection_lag"`
	Server        struct {
		CPUSeconds          float64 `json:"cpu_seconds,omitempty"`
		CPUMicrosPerMessage float64 `json:"cpu_us_per_message,omitempty"`
		BytesPerMessage     float64 `json:"bytes_stored_per_message,omitempty"`
		DataDir             string  `json:"data_dir,omitempty"`
		Restarts            int     `json:"restarts"`
	} `json:"server"`
	// Client is the bench process itself over the load phase (sending and
	// draining): with the server on the same cores, its CPU is CPU the
	// server did not get.
	Client struct {
		CPUSeconds          float64 `json:"cpu_seconds"`
		CPUMicrosPerMessage float64 `json:"cpu_us_per_message"`
	} `json:"client"`
	// Ceilings are the raw ceilings measured in the same invocation
	// (-with-ceilings), with the run's rate as a fraction of each.
	Ceilings     *ceilings    `json:"ceilings,omitempty"`
	Faults       []faultEvent `json:"faults,omitempty"`
	Verification verification `json:"verification"`
	Series       []point      `json:"series"`
}

func (r *runner) results(start, sendEnd time.Time, drained time.Duration) *results {
	res := &results{RunID: r.runID, Started: start.UTC(), Target: r.base}
	c := r.cfg
	res.Config.Users, res.Config.Devices, res.Config.Rate = c.Users, c.Devices, c.Rate
	res.Config.Duration, res.Config.Via, res.Config.Size, res.Config.Read = c.Duration.String(), c.Via, c.TextSize, c.ReadFrac
	if c.Spawn {
		res.Config.Backends = c.Backends
	}
	res.Config.Fault = c.Fault
	res.Host.CPUs, res.Host.Go = runtime.NumCPU(), runtime.Version()
	res.SendSeconds = sendEnd.Sub(start).Seconds()
	res.DrainSeconds = drained.Seconds()
	res.Counts = r.ledger.snapshot()
	res.Throughput = float64(res.Counts.Accepted) / res.SendSeconds
	res.Errors = r.errs.snapshot()
	res.Accept, res.E2E, res.ReadReceipt = r.ledger.accept.Summary(), r.ledger.e2e.Summary(), r.ledger.readRTT.Summary()
	res.ProjectionLag = r.lag.Summary()
	res.Verification = r.ledger.verify()
	res.Series = r.series
	return res
}

func printSummary(w io.Writer, r *results) {
	fmt.Fprintf(w, "\n== tidings-bench run %s: %d users × %d devices, %s, %s via %s\n", r.RunID, r.Config.Users,
		r.Config.Devices, rateText(r.Config.Rate), r.Config.Duration, r.Config.Via)
	fmt.Fprintf(w, "throughput      %.0f accepted msg/s over %.1f s (drain %.1f s)\n", r.Throughput, r.SendSeconds, r.DrainSeconds)
	fmt.Fprintf(w, "counts          scheduled %d accepted %d frames %d reads %d read-receipts %d retries %d reconnects %d\n",
		r.Counts.Scheduled, r.Counts.Accepted, r.Counts.Received, r.Counts.Reads, r.Counts.Receipts, r.Counts.Retries, r.Counts.Reconnect)
	fmt.Fprintf(w, "%-15s %8s %8s %8s %8s %8s %8s %8s\n", "latency (ms)", "count", "p50", "p90", "p99", "p99.9", "max", "mean")
	for _, row := range []struct {
		name string
		s    summary
	}{{"accept", r.Accept}, {"end-to-end", r.E2E}, {"read receipt", r.ReadReceipt}, {"projection lag", r.ProjectionLag}} {
		fmt.Fprintf(w, "%-15s %8d %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n", row.name, row.s.Count, row.s.P50, row.s.P90,
			row.s.P99, row.s.P999, row.s.Max, row.s.Mean)
	}
	if len(r.Errors) > 0 {
		codes := make([]string, 0, len(r.Errors))
		for c := range r.Errors {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		fmt.Fprint(w, "errors         ")
		for _, c := range codes {
			fmt.Fprintf(w, " %s=%d", c, r.Errors[c])
		}
		fmt.Fprintln(w)
	}
	if r.Server.CPUSeconds > 0 {
		fmt.Fprintf(w, "server          CPU %.1f s = %.0f µs/message", r.Server.CPUSeconds, r.Server.CPUMicrosPerMessage)
		if r.Server.BytesPerMessage > 0 {
			fmt.Fprintf(w, ", %.0f bytes stored/message", r.Server.BytesPerMessage)
		}
		fmt.Fprintf(w, ", restarts %d\n", r.Server.Restarts)
	}
	fmt.Fprintf(w, "client          CPU %.1f s = %.0f µs/message (this tool, sending and draining)\n", r.Client.CPUSeconds, r.Client.CPUMicrosPerMessage)
	if c := r.Ceilings; c != nil && c.HTTP != nil {
		fmt.Fprintf(w, "ceiling http    %.0f req/s bare net/http (same invocation, %d connections, %.0f s): this run's %.0f msg/s is %.1f %% of it\n",
			c.HTTP.Rate, c.HTTP.Concurrency, c.HTTP.Seconds, r.Throughput, 100*c.FractionOfHTTP)
	}
	for _, f := range r.Faults {
		state := "back"
		if f.Error != "" {
			state = "FAILED: " + f.Error
		}
		fmt.Fprintf(w, "fault           %s at %.1f s, %s after %.1f s\n", f.What, f.AtS, state, f.OutageS)
	}
	v := r.Verification
	status := "PASSED"
	if !v.OK {
		status = "FAILED"
	}
	fmt.Fprintf(w, "verification    %s: %d accepted, lost %d, duplicated %d, out of order %d, different id %d, reads unanswered %d refused %d, missing read receipts %d (unacked but delivered %d, foreign %d)\n",
		status, v.Accepted, v.Lost, v.Duplicated, v.OutOfOrder, v.DifferentID, v.UnansweredReads, v.FailedReads, v.MissingReadReceipts, v.UnackedDelivered, v.Foreign)
	for _, p := range v.Problems {
		fmt.Fprintln(w, "  ", p)
	}
	r.Env.print(w)
}

func writeJSON(path string, r any) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
