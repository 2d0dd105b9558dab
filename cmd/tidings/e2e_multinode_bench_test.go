package main

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestMultiNodeLoadGenerator runs the load generator (cmd/tidings-bench)
// through nginx against three nodes, SIGKILLs one node mid-run, and
// requires the generator's own verification to pass: every accepted
// message reached its recipient exactly once, in order per pair, and every
// read receipt came back, across the clients' reconnections.
func TestMultiNodeLoadGenerator(t *testing.T) {
	if !realBackends() {
		t.Skip("multi-node test: needs TIDINGS_E2E_REAL=1 and the real services (scripts/services.sh)")
	}
	inst := newInstance(t)
	var nodes []*server
	var ports []string
	for range mnNodes {
		s := inst.start(t, serverOptions{Flags: []string{"--data", t.TempDir(), "--send-rate", "0"}})
		_, port, err := net.SplitHostPort(s.addr)
		if err != nil {
			t.Fatal(err)
		}
		nodes, ports = append(nodes, s), append(ports, port)
	}
	lb, _ := mnStartNginx(t, ports)

	bench := filepath.Join(t.TempDir(), "tidings-bench")
	build := exec.Command("go", "build", "-o", bench, "../tidings-bench")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build tidings-bench: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bench, "-addr", lb, "-users", "30", "-rate", "40",
		"-duration", "12s", "-drain", "40s", "-lag-probe", "0", "-quiet")
	cmd.Env = childEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill a node while messages flow (users register first, a few seconds).
	time.Sleep(8 * time.Second)
	nodes[1].kill()
	err := cmd.Wait()
	t.Logf("tidings-bench through nginx, node 1 killed mid-run:\n%s", out.String())
	if err != nil {
		t.Fatalf("tidings-bench: %v\n%s", err, errOut.String())
	}
	m := regexp.MustCompile(`verification\s+(\S+): (\d+) accepted, lost (\d+), duplicated (\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no verification line in the generator's summary")
	}
	if accepted, _ := strconv.Atoi(m[2]); accepted < 100 || m[3] != "0" || m[4] != "0" {
		t.Fatalf("verification: %s", m[0])
	}
	// The kill must have hit clients: those of node 1 reconnected through
	// nginx to the others and resumed.
	r := regexp.MustCompile(`reconnects (\d+)`).FindStringSubmatch(out.String())
	if r == nil || r[1] == "0" {
		t.Fatalf("no client reconnected after node 1 died: %v", r)
	}
}
