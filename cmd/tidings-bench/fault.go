package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// faultEvent is one fault the run injected, for the results.
type faultEvent struct {
	What     string  `json:"what"`     // kill, broker or cassandra
	AtS      float64 `json:"at_s"`     // seconds after the first send
	OutageS  float64 `json:"outage_s"` // until the server or service was back
	Error    string  `json:"error,omitempty"`
	Restarts int     `json:"-"`
}

// serviceName maps a -fault item to its scripts/services.sh name.
var serviceName = map[string]string{"broker": "kafka", "cassandra": "cassandra"}

// injectFaults runs the -fault list in order, fault i of k at
// (i+1)/(k+1) of -duration after start: kill SIGKILLs the server and
// restarts it on the same data; broker and cassandra restart that real
// service (scripts/services.sh down NAME && up NAME) under the running
// server, which must ride it out. A fault not yet due when sending ends is
// skipped. It returns what it did; a failure to bring anything back, or a
// server that died during a service's outage, ends the run (setFatal).
func (r *runner) injectFaults(ctx, sendCtx context.Context, start time.Time, out io.Writer) []faultEvent {
	fs := r.cfg.faults()
	var done []faultEvent
	for i, f := range fs {
		due := start.Add(r.cfg.Duration * time.Duration(i+1) / time.Duration(len(fs)+1))
		select {
		case <-sendCtx.Done():
			fmt.Fprintf(out, "\nFAULT: %s skipped, sending ended first\n", f)
			return done
		case <-time.After(time.Until(due)):
		}
		ev := faultEvent{What: f, AtS: time.Since(start).Seconds()}
		t := time.Now()
		switch f {
		case "kill":
			fmt.Fprintf(out, "\nFAULT at %.1fs: SIGKILL server pid %d and restart it on the same data\n", ev.AtS, r.srv.cmd.Process.Pid)
			r.srv.kill()
			if err := r.srv.start(ctx); err != nil {
				ev.Error = err.Error()
				r.setFatal(fmt.Errorf("restart after kill: %w", err))
			} else {
				ev.Restarts = 1
			}
		default:
			name := serviceName[f]
			fmt.Fprintf(out, "\nFAULT at %.1fs: restarting %s (scripts/services.sh down %s && up %s)\n", ev.AtS, name, name, name)
			if err := restartService(name); err != nil {
				ev.Error = err.Error()
				r.setFatal(fmt.Errorf("restart %s: %w", name, err))
			} else if !r.srv.alive() {
				ev.Error = "the tidings server exited while " + name + " was down (see its log)"
				r.setFatal(fmt.Errorf("fault %s: %s", f, ev.Error))
			}
		}
		ev.OutageS = time.Since(t).Seconds()
		state := "back"
		if ev.Error != "" {
			state = "FAILED: " + ev.Error
		}
		fmt.Fprintf(out, "\nFAULT: %s %s after %.1fs\n", f, state, ev.OutageS)
		done = append(done, ev)
		if ev.Error != "" {
			return done
		}
	}
	return done
}

// restartService stops and starts one of the real services. Not bound to
// the run's context: an interrupted run must not leave the service down.
func restartService(name string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	script := filepath.Join(root, "scripts", "services.sh")
	for _, verb := range []string{"down", "up"} {
		var buf bytes.Buffer
		cmd := exec.Command("bash", script, verb, name)
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("scripts/services.sh %s %s: %w: %s", verb, name, err, strings.TrimSpace(buf.String()))
		}
	}
	return nil
}

// alive reports whether the server process still runs.
func (s *server) alive() bool {
	return s.cmd != nil && s.cmd.Process != nil && s.cmd.Process.Signal(syscall.Signal(0)) == nil
}
