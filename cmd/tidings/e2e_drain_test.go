package main

import (
	"net/http"
	"syscall"
	"testing"
	"time"
)

// TestDrainOnSIGTERM checks that a stopping node first reports not ready
// (so a load balancer stops sending), still answers in-flight and new
// requests during the drain delay, then exits cleanly.
func TestDrainOnSIGTERM(t *testing.T) {
	t.Parallel()
	inst := newInstance(t)
	srv := inst.start(t, serverOptions{Flags: []string{"--drain-delay", "2s"}})
	a := newAPI(t, srv, newPositions())
	alice := a.register(t, "drain-"+randomSuffix(6))
	expectStatus(t, a.get(t, user{}, "/readyz"), http.StatusOK)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	for {
		res := a.once(t, request{Method: http.MethodGet, Path: "/readyz"})
		if res.Status == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after SIGTERM", res.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Still serving while it drains.
	expectStatus(t, a.get(t, alice, "/me"), http.StatusOK)
	select {
	case <-srv.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not exit after draining")
	}
	if srv.err != nil {
		t.Fatalf("exit after SIGTERM: %v", srv.err)
	}
}
