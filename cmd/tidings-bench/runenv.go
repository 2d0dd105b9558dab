package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// runEnv says when, on what code and on how busy a machine a figure was
// taken: every printed summary and every JSON result carries it, so a
// figure can be reproduced and a noisy one recognised.
type runEnv struct {
	Date string `json:"date"` // RFC 3339 UTC, when the invocation started
	// Commit is `git rev-parse --short HEAD` ("+dirty" with uncommitted
	// changes); empty outside a git work tree.
	Commit string `json:"commit,omitempty"`
	// LoadBefore and LoadAfter are the 1-, 5- and 15-minute load averages
	// (as uptime prints them) when the invocation started and ended.
	LoadBefore string `json:"load_avg_before"`
	LoadAfter  string `json:"load_avg_after"`
}

// newRunEnv records the start of an invocation; call done at its end.
func newRunEnv(ctx context.Context) runEnv {
	return runEnv{Date: time.Now().UTC().Format(time.RFC3339), Commit: gitCommit(ctx), LoadBefore: loadAvg()}
}

// done records the load average at the end.
func (e *runEnv) done() { e.LoadAfter = loadAvg() }

func (e runEnv) print(w io.Writer) {
	commit := e.Commit
	if commit == "" {
		commit = "unknown"
	}
	fmt.Fprintf(w, "run             %s, commit %s, load average %s before, %s after\n", e.Date, commit, e.LoadBefore, e.LoadAfter)
}
