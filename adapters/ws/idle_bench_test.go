package ws

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// idleClientEnv names the server URL for the client process of
// BenchmarkIdleConnections; TestIdleClientProcess is that process.
const idleClientEnv = "TIDINGS_WS_IDLE_CLIENT"

// BenchmarkIdleConnections measures what idle WebSocket connections cost
// the server: it opens conns connections (from a child process, so that
// the client side's memory is not counted) to the REST API with the real
// Hub, lets each receive its ready frame, and reports per connection the
// growth of live heap, goroutine stacks, goroutines and resident memory
// (VmRSS) of this process. One op is one measurement; run it once.
//
//	go test -run '^$' -bench IdleConnections -benchtime 1x ./adapters/ws/
//
// -ws.idle-conns sets the count (2,000 by default; 10,000 needs about 10,000
// open files in each process).
func BenchmarkIdleConnections(b *testing.B) {
	n := *idleConns
	b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) { benchIdle(b, n) })
}

var idleConns = flag.Int("ws.idle-conns", 2000, "connections BenchmarkIdleConnections opens")

func benchIdle(b *testing.B, conns int) {
	const ping = 500 * time.Millisecond
	s := newBenchServer(b, Config{PingInterval: ping})
	ids, tokens := s.register(b, conns)
	for b.Loop() {
		before := idleSnapshot()
		child := startIdleClients(b, s.url, tokens)
		for _, id := range ids {
			for s.hub.Connections(id) != 1 {
				time.Sleep(time.Millisecond)
			}
		}
		// Idle connections are pinged: measure after every one has been
		// (the pinger's state, and the reader after it read the pong).
		time.Sleep(3 * ping)
		settle()
		after := idleSnapshot()
		b.ReportMetric(float64(after.heap-before.heap)/float64(conns), "heap-B/conn")
		b.ReportMetric(float64(after.stack-before.stack)/float64(conns), "stack-B/conn")
		b.ReportMetric(float64(after.heap+after.stack-before.heap-before.stack)/float64(conns), "B/conn")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(conns), "goroutines/conn")
		b.ReportMetric(float64(after.rss-before.rss)/float64(conns), "rss-B/conn")
		child.stop(b)
	}
}

type snapshot struct {
	heap, stack, rss uint64
	goroutines       int
}

// idleSnapshot collects garbage (several times: each cycle halves an
// oversized goroutine stack at most once) and reads the process's figures.
func idleSnapshot() snapshot {
	for range 5 {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return snapshot{heap: m.HeapAlloc, stack: m.StackInuse, rss: vmRSS(), goroutines: runtime.NumGoroutine()}
}

// settle waits until the goroutine count holds still: the connections'
// start-up work (backlog, ready frame) has ended.
func settle() {
	last, still := runtime.NumGoroutine(), 0
	for still < 5 {
		time.Sleep(20 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
}

func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

type idleClients struct {
	cmd   *exec.Cmd
	stdin interface{ Close() error }
}

// startIdleClients runs this test binary as TestIdleClientProcess, which
// connects once per token, and returns when every connection has had its
// ready frame.
func startIdleClients(b *testing.B, url string, tokens []string) *idleClients {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestIdleClientProcess$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), idleClientEnv+"="+url)
	w, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &idleClients{cmd: cmd, stdin: w}
	b.Cleanup(func() { c.stop(b) })
	if _, err := fmt.Fprintf(w, "%s\n\n", strings.Join(tokens, "\n")); err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if line := sc.Text(); line == "connected" {
			return c
		} else if strings.HasPrefix(line, "error") {
			b.Fatalf("idle client: %s", line)
		}
	}
	b.Fatalf("idle client ended before connecting: %v", sc.Err())
	return nil
}

// stop closes the child's stdin (it then exits, closing its connections)
// and waits for it.
func (c *idleClients) stop(b *testing.B) {
	if c.stdin == nil {
		return
	}
	_ = c.stdin.Close()
	c.stdin = nil
	if err := c.cmd.Wait(); err != nil {
		b.Errorf("idle client: %v", err)
	}
}

// TestIdleClientProcess is the client side of BenchmarkIdleConnections,
// run in a process of its own; it skips unless that benchmark started it.
// It reads tokens from stdin (one a line, ended by an empty line), opens
// one connection per token, reads each up to its ready frame, then keeps
// reading (answering pings) until stdin closes, and prints "connected"
// once all are open.
func TestIdleClientProcess(t *testing.T) {
	url := os.Getenv(idleClientEnv)
	if url == "" {
		t.Skip("started by BenchmarkIdleConnections only")
	}
	in := bufio.NewScanner(os.Stdin)
	var tokens []string
	for in.Scan() && in.Text() != "" {
		tokens = append(tokens, in.Text())
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []*websocket.Conn
		first error
	)
	next := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tok := range next {
				c, err := dialReady(url, tok)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if c != nil {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		}()
	}
	for _, tok := range tokens {
		next <- tok
	}
	close(next)
	wg.Wait()
	if first != nil {
		fmt.Printf("error %v\n", first)
		return
	}
	fmt.Println("connected")
	for in.Scan() {
	}
	for _, c := range conns {
		_ = c.CloseNow()
	}
}

func dialReady(url, token string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{Subprotocol, "bearer." + token}})
	if err != nil {
		return nil, err
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			_ = c.CloseNow()
			return nil, err
		}
		if strings.Contains(string(b), `"ready"`) {
			break
		}
	}
	c.CloseRead(context.Background())
	return c, nil
}
