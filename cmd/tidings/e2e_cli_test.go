package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// runBinary runs the tidings binary with args and no TIDINGS_* variable,
// returning its output and exit code.
func runBinary(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tidingsBinary(t), args...)
	cmd.Env = childEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("tidings %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// TestHelpExitsZero checks that asking for help, of the command or of any
// subcommand, prints a usage and succeeds, and that a wrong command still
// fails.
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string // in stdout or stderr
	}{
		{[]string{"-h"}, "usage:"},
		{[]string{"--help"}, "usage:"},
		{[]string{"help"}, "usage:"},
		{[]string{"serve", "-h"}, "TIDINGS_ADDR"},
		{[]string{"serve", "--help"}, "TIDINGS_ADDR"},
		{[]string{"replay", "-h"}, "TIDINGS_DATA"},
		{[]string{"migrate", "-h"}, "TIDINGS_POSTGRES_URL"},
		{[]string{"users", "-h"}, "tidings users add NAME"},
		{[]string{"users", "add", "-h"}, "tidings users add NAME"},
		{[]string{"shards", "-h"}, "tidings shards move"},
		{[]string{"shards", "help"}, "tidings shards move"},
		{[]string{"shards", "move", "-h"}, "tidings shards move"},
		{[]string{"shards", "of", "--help"}, "tidings shards of"},
		{[]string{"version", "-h"}, "tidings version"},
	}
	for _, tc := range tests {
		out, errOut, code := runBinary(t, tc.args...)
		if code != 0 || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("tidings %s: exit %d, output %q %q; want exit 0 and %q", strings.Join(tc.args, " "), code, out, errOut, tc.want)
		}
	}
	for _, args := range [][]string{{"frobnicate"}, {"serve", "--no-such-flag"}, {"users", "remove", "x"}} {
		if _, _, code := runBinary(t, args...); code == 0 {
			t.Errorf("tidings %s: exit 0, want a failure", strings.Join(args, " "))
		}
	}
}

// TestVersionAndStartLog checks "tidings version", the build-info line a
// server logs when it starts, the URLs and interfaces it listens on, a
// warning for a TIDINGS_* variable that is no setting, and the build and
// WebSocket gauges in /metrics.
func TestVersionAndStartLog(t *testing.T) {
	t.Parallel()
	out, errOut, code := runBinary(t, "version")
	line := regexp.MustCompile(`^tidings (\S+), revision (\S+)( \(modified\))?, committed (\S+), built with (go\S+)\n$`)
	if code != 0 || !line.MatchString(out) {
		t.Fatalf("tidings version: exit %d, %q %q; want one line like %q", code, out, errOut, "tidings (devel), revision 1a2b..., committed 2026-..., built with go1.25.1")
	}

	inst := newInstance(t)
	srv := inst.start(t, serverOptions{Env: []string{"TIDINGS_SEND_RAET=5"}})
	log := srv.log.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`msg="tidings starting" version=\S+ revision=\S+ modified=(true|false) vcs_time=\S+ go=go\S+`),
		regexp.MustCompile(`msg="tidings listening" addr=` + regexp.QuoteMeta(srv.addr) +
			` api=` + regexp.QuoteMeta(srv.URL) + ` web_client=` + regexp.QuoteMeta(srv.URL+"/") + ` interfaces="loopback only`),
		regexp.MustCompile(`level=WARN msg=.*TIDINGS_SEND_RAET is not a tidings setting`),
	} {
		if !want.MatchString(log) {
			t.Errorf("server log lacks %s:\n%s", want, log)
		}
	}

	a := newAPI(t, srv, newPositions())
	alice := a.register(t, "alice-"+randomSuffix(6))
	ws := wsDial(t, srv, alice, "", "alice")
	ws.ready(t)
	res := a.do(t, request{Method: http.MethodGet, Path: "/metrics"})
	expectStatus(t, res, http.StatusOK)
	for _, want := range []string{"tidings_build_info{go=\"go", "tidings_websocket_connections 1\n", "tidings_websocket_users 1\n"} {
		if !strings.Contains(string(res.Body), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, res.Body)
		}
	}
}
