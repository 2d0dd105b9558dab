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
// lose or duplicate one message frame: the verifier must report exactly
// that, and a clean run must pass.
func TestVerifierCatchesLostAndDuplicatedFrames(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a tidings server")
	}
	bin := buildServer(t)
	tests := []struct {
		name     string
		drop     int
		dup      int
		wantOK   bool
		wantText string
	}{
		{name: "clean", wantOK: true},
		{name: "dropped-frame", drop: 5, wantText: "LOST"},
		{name: "duplicated-frame", dup: 5, wantText: "DUPLICATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(bin)
			c.dropFrame, c.dupFrame = tt.drop, tt.dup
			c.Drain = 4 * time.Second
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
			if tt.wantOK {
				return
			}
			if !hasProblem(v.Problems, tt.wantText) {
				t.Errorf("problems %q, want one starting with %s", v.Problems, tt.wantText)
			}
			if got := v.Lost + v.Duplicated; got != 1 {
				t.Errorf("lost %d + duplicated %d, want exactly 1", v.Lost, v.Duplicated)
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
