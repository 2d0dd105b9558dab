package main

import (
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVerifierCatchesLostAndDuplicatedFrames runs the load generator
// against a real embedded server and uses the client-side test hooks to
// lose or duplicate one message frame, lose the answer to one read or one
// read receipt: the verifier must report exactly that, and clean runs
// (sending over REST and over the socket) must pass.
func TestVerifierCatchesLostAndDuplicatedFrames(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a tidings server")
	}
	bin := buildServer(t)
	tests := []struct {
		name     string
		via      string
		ceilings bool // -with-ceilings
		drop     int
		dup      int
		noAck    int // drop the answer to the Nth read
		noRcpt   int // drop the Nth read receipt
		wantOK   bool
		wantText string
	}{
		{name: "clean", wantOK: true, ceilings: true},
		{name: "clean-ws", via: "ws", wantOK: true},
		{name: "dropped-frame", drop: 5, wantText: "LOST"},
		{name: "duplicated-frame", dup: 5, wantText: "DUPLICATE"},
		{name: "unanswered-read", noAck: 5, wantText: "READ NOT ANSWERED"},
		{name: "lost-read-receipt", noRcpt: 5, wantText: "NO READ RECEIPT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(bin)
			c.dropFrame, c.dupFrame, c.dropReadAck, c.dropReceipt = tt.drop, tt.dup, tt.noAck, tt.noRcpt
			c.Drain = 4 * time.Second
			if tt.via != "" {
				c.Via = tt.via
			}
			if tt.ceilings {
				c.WithCeilings, c.Concurrency, c.ceilingsFor = true, 4, 300*time.Millisecond
			}
			res, err := run(context.Background(), c, io.Discard)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			v := res.Verification
			if v.Accepted < 20 {
				t.Fatalf("only %d messages accepted", v.Accepted)
			}
			if v.OK != tt.wantOK {
				t.Fatalf("verification ok = %v, want %v; problems: %v", v.OK, tt.wantOK, v.Problems)
			}
			if tt.wantOK && (v.MissingReadReceipts != 0 || res.Counts.Reads != int64(v.Accepted) || res.Counts.Receipts != int64(v.Accepted*c.Devices)) {
				t.Errorf("%d accepted, %d reads acked, %d read receipts (missing %d): every message is read, each receipt reaches both devices",
					v.Accepted, res.Counts.Reads, res.Counts.Receipts, v.MissingReadReceipts)
			}
			if res.Client.CPUMicrosPerMessage <= 0 || res.Env.Date == "" || res.Env.LoadAfter == "" {
				t.Errorf("client CPU %.1f µs/message, env %+v: not recorded", res.Client.CPUMicrosPerMessage, res.Env)
			}
			if tt.ceilings {
				if res.Ceilings == nil || res.Ceilings.HTTP == nil || res.Ceilings.HTTP.Ops == 0 || res.Ceilings.FractionOfHTTP <= 0 {
					t.Errorf("-with-ceilings: %+v, want a bare-HTTP ceiling and the run's fraction of it", res.Ceilings)
				}
			}
			if tt.wantOK {
				return
			}
			if !hasProblem(v.Problems, tt.wantText) {
				t.Errorf("problems %q, want one starting with %s", v.Problems, tt.wantText)
			}
			if got := v.Lost + v.Duplicated + v.UnansweredReads + v.MissingReadReceipts; got != 1 {
				t.Errorf("lost %d + duplicated %d + unanswered reads %d + missing receipts %d, want exactly 1",
					v.Lost, v.Duplicated, v.UnansweredReads, v.MissingReadReceipts)
			}
		})
	}
}

// TestFaultKillLosesNothing SIGKILLs the server halfway through a run; the
// clients resume with cursors and retry with the same client_msg_id, and
// the verifier must still pass.
func TestFaultKillLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a tidings server")
	}
	c := testConfig(buildServer(t))
	c.Fault, c.Duration, c.Drain = "kill", 4*time.Second, 20*time.Second
	res, err := run(context.Background(), c, io.Discard)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if res.Server.Restarts != 1 {
		t.Fatalf("restarts = %d, want 1", res.Server.Restarts)
	}
	if !res.Verification.OK {
		t.Fatalf("verification failed after kill: %+v", res.Verification)
	}
}

func hasProblem(problems []string, prefix string) bool {
	for _, p := range problems {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

func testConfig(bin string) *config {
	c := &config{Users: 6, Devices: 2, Rate: 60, Duration: 2 * time.Second, Drain: 10 * time.Second, Via: "rest",
		TextSize: 40, Peers: 2, ReadFrac: 1, Spawn: true, Backends: "embedded", ServerBin: bin, Quiet: true}
	return c
}

func buildServer(t *testing.T) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "tidings")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/tidings")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build tidings: %v\n%s", err, out)
	}
	return bin
}
