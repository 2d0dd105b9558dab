package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a `tidings serve` child process the tool owns (-spawn): on a
// temp data dir and a free loopback port, with the send limit off.
type server struct {
	bin     string
	args    []string
	env     []string
	dataDir string
	addr    string // http://127.0.0.1:PORT
	log     *os.File
	cmd     *exec.Cmd
	// cpuTicks accumulates the CPU of processes that were killed.
	cpuTicks uint64
}

// startServer builds (unless c.ServerBin is set) and starts the server.
func startServer(ctx context.Context, c *config, runID string, out io.Writer) (*server, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "tidings-bench-"+runID+"-")
	if err != nil {
		return nil, err
	}
	bin := c.ServerBin
	if bin == "" {
		bin = filepath.Join(tmp, "tidings")
		fmt.Fprintln(out, "building ./cmd/tidings …")
		b := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/tidings")
		b.Dir, b.Stdout, b.Stderr = root, out, out
		if err := b.Run(); err != nil {
			return nil, fmt.Errorf("build tidings: %w", err)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, dataDir: filepath.Join(tmp, "data"), addr: fmt.Sprintf("http://127.0.0.1:%d", port)}
	s.args = []string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--data", s.dataDir,
		"--send-rate", "0", "--signup-rate", "0", "--log-level", "warn"}
	// The environment must not leak real-backend settings into an embedded run.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TIDINGS_") {
			s.env = append(s.env, kv)
		}
	}
	if c.Backends == "real" {
		env, err := servicesEnv(ctx, root)
		if err != nil {
			return nil, err
		}
		for _, k := range []string{"TIDINGS_KAFKA_BROKERS", "TIDINGS_CASSANDRA_HOSTS", "TIDINGS_POSTGRES_URL"} {
			if env[k] == "" {
				return nil, fmt.Errorf("scripts/services.sh env gave no %s: are the services up (scripts/services.sh status)?", k)
			}
		}
		s.args = append(s.args, "--kafka-brokers", env["TIDINGS_KAFKA_BROKERS"],
			"--cassandra-hosts", env["TIDINGS_CASSANDRA_HOSTS"], "--postgres-url", env["TIDINGS_POSTGRES_URL"],
			"--migrate", "--kafka-topic", "bench."+runID, "--cassandra-keyspace", "bench_"+runID)
	}
	s.args = append(s.args, strings.Fields(c.ServerArgs)...)
	// The log outlives the data dir, for post-mortems.
	if s.log, err = os.Create(filepath.Join(os.TempDir(), "tidings-bench-"+runID+"-server.log")); err != nil {
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *server) start(ctx context.Context) error {
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Env, s.cmd.Stdout, s.cmd.Stderr = s.env, s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start tidings: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("tidings exited at start (%v); log: %s", err, s.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(s.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				go func() { <-exited }()
				return nil
			}
		}
	}
	return fmt.Errorf("tidings not ready after 90 s; log: %s", s.log.Name())
}

// kill SIGKILLs the server (no drain, no flush), remembering its CPU.
func (s *server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	if t, err := cpuTicks(s.cmd.Process.Pid); err == nil {
		s.cpuTicks += t
	}
	_ = s.cmd.Process.Kill()
	// The child is reaped by the goroutine start left waiting.
	for range 100 {
		if err := s.cmd.Process.Signal(syscall.Signal(0)); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop ends the server gracefully (SIGTERM), then removes its files.
func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		for range 300 {
			if err := s.cmd.Process.Signal(syscall.Signal(0)); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = s.cmd.Process.Kill()
	}
	s.log.Close()
	_ = os.RemoveAll(filepath.Dir(s.dataDir))
}

// cpu returns the CPU ticks (1/100 s) used by every incarnation so far.
func (s *server) cpu() uint64 {
	t, _ := cpuTicks(s.cmd.Process.Pid)
	return s.cpuTicks + t
}

// cpuTicks reads utime+stime of pid from /proc/PID/stat, in clock ticks.
func cpuTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the whole line.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return u + st, nil
}

const ticksPerSecond = 100 // USER_HZ on Linux

// dirSize is the bytes used by files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "", fmt.Errorf("-spawn must run inside the tidings module (go env GOMOD: %v)", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// servicesEnv runs `scripts/services.sh env` and parses its exports.
func servicesEnv(ctx context.Context, root string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "services.sh"), "env")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("scripts/services.sh env: %w", err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if ok {
			env[k] = strings.Trim(v, `'"`)
		}
	}
	return env, nil
}
