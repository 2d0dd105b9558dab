package main

// End-to-end harness: build the tidings binary once, run it as a child
// process on 127.0.0.1, and drive it over HTTP and its command line.
//
// The children get none of the test process's TIDINGS_* variables, so the
// tests run on the embedded backends unless told otherwise:
//
//   - TIDINGS_E2E_REAL=1 runs every test against the real Kafka, Cassandra
//     and PostgreSQL named by TIDINGS_KAFKA_BROKERS, TIDINGS_CASSANDRA_HOSTS
//     and TIDINGS_POSTGRES_URL (scripts/services.sh env), each test
//     instance on a topic and keyspace of its own;
//   - TIDINGS_E2E_ARGS holds further flags (space-separated) appended to
//     every command, e.g.
//
//	TIDINGS_E2E_ARGS="--kafka-brokers localhost:9092" go test -run 'TestEndToEnd' ./cmd/tidings/

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// e2eArgsEnv names the variable whose flags are appended to every command.
const e2eArgsEnv = "TIDINGS_E2E_ARGS"

// Timeouts of the harness; generous so that a loaded 2-core machine passes.
const (
	startTimeout = 30 * time.Second // until "tidings listening" and /readyz
	stopTimeout  = 30 * time.Second // from SIGTERM to exit
	cliTimeout   = 60 * time.Second // one "tidings users add" or "replay"
)

var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// TestMain removes the binary built by tidingsBinary once every test ran.
func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// tidingsBinary builds the tidings command once per test run and returns its
// path. End-to-end tests are skipped with -short.
func tidingsBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "tidings-e2e-")
		if build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "tidings")
		cmd := exec.Command("go", "build", "-o", build.path, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatalf("build tidings: %v", build.err)
	}
	return build.path
}

// extraArgs returns the flags of TIDINGS_E2E_ARGS.
func extraArgs() []string {
	return strings.Fields(os.Getenv(e2eArgsEnv))
}

// realBackends reports whether TIDINGS_E2E_REAL=1 asks for the real
// services.
func realBackends() bool { return os.Getenv("TIDINGS_E2E_REAL") == "1" }

// childEnv is the environment of a child: this process's, without any
// TIDINGS_* variable, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TIDINGS_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// embeddedBackends reports whether the tests run on the embedded backends
// (no TIDINGS_E2E_ARGS), where the data directory is the whole state.
func embeddedBackends() bool { return len(extraArgs()) == 0 && !realBackends() }

// randomSuffix returns n random lower-case letters and digits. User names
// and topics carry one so that runs sharing a real backend do not collide.
func randomSuffix(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// instance is one tidings deployment: a data directory and the flags every
// process on it gets. Servers, replays and "users add" run on the same
// instance see the same state.
type instance struct {
	bin    string
	dir    string
	common []string // flags besides --data that every process gets
	runs   int      // servers started, to label their logs
}

// newInstance returns an instance on a fresh temporary data directory. It
// gets a topic of its own so that instances sharing a real Kafka cluster
// (TIDINGS_E2E_ARGS) do not read each other's events.
func newInstance(t *testing.T) *instance {
	t.Helper()
	dir := t.TempDir()
	sfx := randomSuffix(10)
	// Tests sign many users up from one address (loopback), and runs
	// sharing a PostgreSQL would share its per-address buckets: the
	// per-address limits are off unless a test turns them on (its flags
	// come later and win).
	common := []string{"--kafka-topic", "tidings-e2e-" + sfx, "--signup-rate", "0", "--signin-rate", "0"}
	if realBackends() {
		for _, v := range []string{"TIDINGS_KAFKA_BROKERS", "TIDINGS_CASSANDRA_HOSTS", "TIDINGS_POSTGRES_URL"} {
			if os.Getenv(v) == "" {
				t.Fatalf("TIDINGS_E2E_REAL=1 but %s is not set (eval \"$(scripts/services.sh env)\")", v)
			}
		}
		// The real services, before any flag a test adds (the last wins).
		common = append(common, "--kafka-brokers", os.Getenv("TIDINGS_KAFKA_BROKERS"),
			"--cassandra-hosts", os.Getenv("TIDINGS_CASSANDRA_HOSTS"),
			"--postgres-url", os.Getenv("TIDINGS_POSTGRES_URL"), "--migrate",
			"--cassandra-keyspace", "e2e_"+sfx)
	}
	return &instance{bin: tidingsBinary(t), dir: dir, common: common}
}

// flags returns --data DIR and the common flags.
func (in *instance) flags() []string { return append([]string{"--data", in.dir}, in.common...) }

// serverOptions tune one server start.
type serverOptions struct {
	Flags []string // extra flags, before TIDINGS_E2E_ARGS
	Env   []string // extra KEY=VALUE environment
	// AddrDataFromEnv passes the listen address and data directory as
	// TIDINGS_ADDR and TIDINGS_DATA instead of flags.
	AddrDataFromEnv bool
}

// server is a running "tidings serve" child process.
type server struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	addr  string // host:port it listens on
	URL   string // http://addr
	log   *syncBuffer
	done  chan struct{} // closed once the process exited
	state *os.ProcessState
	err   error // of Wait
}

// syncBuffer is a bytes.Buffer safe for one writer and many readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listeningAddr = regexp.MustCompile(`msg="tidings listening" addr=(127\.0\.0\.1:\d+)`)

// start runs "tidings serve" on 127.0.0.1:0 and returns once it logged its
// address and /readyz answers 200. The server is killed when the test ends
// if it is still running; its stderr goes to the test log if the test
// failed.
func (in *instance) start(t *testing.T, o serverOptions) *server {
	t.Helper()
	in.runs++
	args := []string{"serve"}
	env := childEnv(o.Env...)
	if o.AddrDataFromEnv {
		env = append(env, "TIDINGS_ADDR=127.0.0.1:0", "TIDINGS_DATA="+in.dir)
		args = append(args, in.common...)
	} else {
		args = append(args, "--addr", "127.0.0.1:0")
		args = append(args, in.flags()...)
	}
	args = append(args, o.Flags...)
	args = append(args, extraArgs()...)

	s := &server{t: t, name: fmt.Sprintf("server %d on %s", in.runs, filepath.Base(in.dir)),
		log: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(in.bin, args...)
	s.cmd.Env = env
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatalf("stderr pipe: %v", err)
	}
	s.cmd.Stdout = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", in.bin, err)
	}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("--- %s: tidings %s\n%s", s.name, strings.Join(args, " "), s.log.String())
		}
	})

	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(s.log, line)
			if m := listeningAddr.FindStringSubmatch(line); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(s.log, stderr)
		s.err = s.cmd.Wait()
		s.state = s.cmd.ProcessState
		close(s.done)
	}()

	select {
	case s.addr = <-addrc:
	case <-s.done:
		t.Fatalf("%s exited before listening: %v", s.name, s.err)
	case <-time.After(startTimeout):
		t.Fatalf("%s did not log \"tidings listening\" within %v", s.name, startTimeout)
	}
	s.URL = "http://" + s.addr
	s.waitReady()
	return s
}

// waitReady polls /readyz until it answers 200.
func (s *server) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(startTimeout)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		res, err := client.Get(s.URL + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: /readyz not 200 within %v (last: %v)", s.name, startTimeout, describe(res, err))
		}
		select {
		case <-s.done:
			s.t.Fatalf("%s exited while waiting for /readyz: %v", s.name, s.err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func describe(res *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return res.Status
}

// stop sends SIGTERM and requires a clean exit (status 0) within
// stopTimeout.
func (s *server) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Fatalf("SIGTERM %s: %v", s.name, err)
	}
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		s.t.Fatalf("%s did not exit within %v of SIGTERM", s.name, stopTimeout)
	}
	if s.err != nil {
		s.t.Fatalf("%s: exit after SIGTERM: %v (want status 0)", s.name, s.err)
	}
	if !strings.Contains(s.log.String(), "shutting down") {
		s.t.Errorf("%s: no \"shutting down\" log line after SIGTERM", s.name)
	}
}

// kill sends SIGKILL (a crash) and waits for the process to go away. It is
// a no-op once the process exited.
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// cliResult is the outcome of one command-line run.
type cliResult struct {
	Stdout, Stderr string
	Err            error // nil for exit status 0
}

// run runs "tidings <subcommand...> <instance flags> <TIDINGS_E2E_ARGS>"
// to completion. The instance flags come after the subcommand's own
// arguments (e.g. "users add NAME --data DIR").
func (in *instance) run(t *testing.T, subcommand ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	args := append(append(append([]string{}, subcommand...), in.flags()...), extraArgs()...)
	cmd := exec.CommandContext(ctx, in.bin, args...)
	cmd.Env = childEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("tidings %s: still running after %v\nstderr:\n%s", strings.Join(args, " "), cliTimeout, stderr.String())
	}
	r := cliResult{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- tidings %s (err %v)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Err, r.Stdout, r.Stderr)
		}
	})
	return r
}
