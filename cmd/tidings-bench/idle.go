package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// idleSettle is how long -idle waits after the last ready frame before it
// reads the server's memory, so that the handshakes' garbage and buffers
// are no longer what it measures.
const idleSettle = 5 * time.Second

// fdHeadroom is the file descriptors -idle wants beyond one per
// connection, in the tool and in the server (listeners, the data
// directories' files, HTTP keep-alive connections).
const fdHeadroom = 512

// idleResults is what -idle measured.
type idleResults struct {
	Env         runEnv `json:"env"`
	RunID       string `json:"run_id"`
	Target      string `json:"target"`
	ServerPID   int    `json:"server_pid"`
	Connections int    `json:"connections"`
	// OpenFiles are the RLIMIT_NOFILE soft/hard limits of the tool and
	// the server as they ran (a Go program raises its soft limit to the
	// hard one at start).
	OpenFiles struct {
		ToolSoft   uint64 `json:"tool_soft"`
		ToolHard   uint64 `json:"tool_hard"`
		ServerSoft uint64 `json:"server_soft"`
		ServerHard uint64 `json:"server_hard"`
	} `json:"open_files_limit"`
	RegisterSeconds float64 `json:"register_seconds"`
	ConnectSeconds  float64 `json:"connect_seconds"` // until the last ready frame
	Server          struct {
		RSSBeforeKB int64   `json:"rss_before_kb"`
		RSSAfterKB  int64   `json:"rss_after_kb"`
		KBPerConn   float64 `json:"kb_per_connection"`
		// Goroutines are go_goroutines of GET /metrics; -1 when unknown.
		GoroutinesBefore  int64   `json:"goroutines_before"`
		GoroutinesAfter   int64   `json:"goroutines_after"`
		GoroutinesPerConn float64 `json:"goroutines_per_connection"`
		MetricsError      string  `json:"metrics_error,omitempty"`
	} `json:"server"`
	Client struct {
		RSSBeforeKB       int64   `json:"rss_before_kb"`
		RSSAfterKB        int64   `json:"rss_after_kb"`
		KBPerConn         float64 `json:"kb_per_connection"`
		GoroutinesPerConn float64 `json:"goroutines_per_connection"`
	} `json:"client"`
	// StillConnected counts the devices connected when memory was read;
	// Reconnects, the drops the devices recovered from meanwhile.
	StillConnected int   `json:"still_connected"`
	Reconnects     int64 `json:"reconnects"`
}

func (r *idleResults) print(w io.Writer) {
	fmt.Fprintf(w, "\n== tidings-bench idle %s: %d idle WebSocket connections (%d users × 1 device) against %s (pid %d)\n",
		r.RunID, r.Connections, r.Connections, r.Target, r.ServerPID)
	fmt.Fprintf(w, "open files      tool %d/%d, server %d/%d (soft/hard)\n", r.OpenFiles.ToolSoft, r.OpenFiles.ToolHard,
		r.OpenFiles.ServerSoft, r.OpenFiles.ServerHard)
	fmt.Fprintf(w, "setup           registered in %.1f s, all ready in %.1f s, settled %v; still connected %d, reconnects %d\n",
		r.RegisterSeconds, r.ConnectSeconds, idleSettle, r.StillConnected, r.Reconnects)
	s := r.Server
	fmt.Fprintf(w, "server memory   RSS %d → %d KB = %.1f KB per connection\n", s.RSSBeforeKB, s.RSSAfterKB, s.KBPerConn)
	if s.MetricsError == "" {
		fmt.Fprintf(w, "server threads  goroutines %d → %d = %.2f per connection\n", s.GoroutinesBefore, s.GoroutinesAfter, s.GoroutinesPerConn)
	} else {
		fmt.Fprintf(w, "server threads  goroutines unknown: %s\n", s.MetricsError)
	}
	fmt.Fprintf(w, "client          RSS %d → %d KB = %.1f KB and %.2f goroutines per connection (this tool)\n",
		r.Client.RSSBeforeKB, r.Client.RSSAfterKB, r.Client.KBPerConn, r.Client.GoroutinesPerConn)
	r.Env.print(w)
}

// runIdle measures what idle WebSocket connections cost the server
// (-idle N): it registers N users, reads the server's RSS (VmRSS of
// /proc/PID/status) and goroutines (GET /metrics, go_goroutines; the
// loopback needs no token) as the baseline, connects one device per user,
// waits for every ready frame, settles idleSettle and reads both again.
// The devices send nothing, so the server's default send limits do not
// matter. It refuses to start when the open-files limit of the tool or the
// server cannot hold N connections.
func runIdle(ctx context.Context, c *config, out io.Writer) (*idleResults, error) {
	n := c.Idle
	res := &idleResults{Env: newRunEnv(ctx), Connections: n}
	need := uint64(n + fdHeadroom)
	var err error
	if res.OpenFiles.ToolSoft, res.OpenFiles.ToolHard, err = openFilesLimit(0); err != nil {
		return nil, err
	}
	if res.OpenFiles.ToolSoft < need {
		return nil, fmt.Errorf("open-files limit too low: this tool may open %d files (ulimit -n; hard limit %d) and %d idle connections need at least %d; "+
			"raise it in the shell that runs the tool and the server (ulimit -n %d; above the hard limit only root can)", res.OpenFiles.ToolSoft, res.OpenFiles.ToolHard, n, need, need)
	}

	id := make([]byte, 4)
	_, _ = rand.Read(id)
	r := &runner{cfg: idleConfig(c), runID: hex.EncodeToString(id), base: strings.TrimSuffix(c.Addr, "/"), errs: &errorCounts{},
		ledger: newLedger(n, 1), lag: newHistogram()}
	res.RunID, res.ServerPID = r.runID, c.ServerPID
	if c.Spawn {
		srv, err := startServer(ctx, c, r.runID, out)
		if err != nil {
			return nil, err
		}
		defer srv.stop()
		r.srv, r.base, res.ServerPID = srv, srv.addr, srv.cmd.Process.Pid
		fmt.Fprintf(out, "server log: %s\n", srv.log.Name())
	}
	res.Target = r.base
	if res.OpenFiles.ServerSoft, res.OpenFiles.ServerHard, err = openFilesLimit(res.ServerPID); err != nil {
		return nil, fmt.Errorf("server pid %d: %w", res.ServerPID, err)
	}
	if res.OpenFiles.ServerSoft < need {
		return nil, fmt.Errorf("open-files limit too low: the server (pid %d) may open %d files (hard limit %d) and %d idle connections need at least %d; "+
			"raise ulimit -n where the server starts (or LimitNOFILE= of its unit)", res.ServerPID, res.OpenFiles.ServerSoft, res.OpenFiles.ServerHard, n, need)
	}
	r.api = newAPI(r.base, connectWorkers+4, r.errs)

	fmt.Fprintf(out, "idle %s against %s: registering %d users …\n", r.runID, r.base, n)
	t := time.Now()
	users, err := r.api.register(ctx, "i"+r.runID, n)
	if err != nil {
		return nil, fmt.Errorf("%w (is the server up at %s?)", err, r.base)
	}
	r.users = users
	res.RegisterSeconds = time.Since(t).Seconds()

	// The registrations' keep-alive connections hold goroutines of their
	// own: close them so that only the devices' count.
	r.api.hc.CloseIdleConnections()
	if res.Server.RSSBeforeKB, err = rssKB(res.ServerPID); err != nil {
		return nil, err
	}
	res.Server.GoroutinesBefore, err = r.goroutines(ctx)
	if err != nil {
		res.Server.MetricsError = err.Error()
	}
	goroutines0 := steadyGoroutines(ctx)
	runtime.GC()
	res.Client.RSSBeforeKB, _ = rssKB(0)

	fmt.Fprintf(out, "connecting %d devices (%d at a time) …\n", n, connectWorkers)
	t = time.Now()
	err = r.connectAll(ctx)
	defer r.closeAll()
	if err != nil {
		return nil, err
	}
	res.ConnectSeconds = time.Since(t).Seconds()
	fmt.Fprintf(out, "all %d ready after %.1f s; settling %v …\n", n, res.ConnectSeconds, idleSettle)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(idleSettle):
	}

	if res.Server.RSSAfterKB, err = rssKB(res.ServerPID); err != nil {
		return nil, err
	}
	if res.Server.MetricsError == "" {
		if res.Server.GoroutinesAfter, err = r.goroutines(ctx); err != nil {
			res.Server.MetricsError = err.Error()
		}
	}
	res.Client.GoroutinesPerConn = float64(steadyGoroutines(ctx)-goroutines0) / float64(n)
	runtime.GC()
	res.Client.RSSAfterKB, _ = rssKB(0)
	res.Server.KBPerConn = float64(res.Server.RSSAfterKB-res.Server.RSSBeforeKB) / float64(n)
	res.Client.KBPerConn = float64(res.Client.RSSAfterKB-res.Client.RSSBeforeKB) / float64(n)
	if res.Server.MetricsError == "" {
		res.Server.GoroutinesPerConn = float64(res.Server.GoroutinesAfter-res.Server.GoroutinesBefore) / float64(n)
	} else {
		res.Server.GoroutinesBefore, res.Server.GoroutinesAfter = -1, -1
	}
	res.StillConnected = r.connected()
	res.Reconnects = r.ledger.snapshot().Reconnect
	res.Env.done()
	return res, nil
}

// idleConfig is c for idle devices: one per user, reading nothing.
func idleConfig(c *config) *config {
	ic := *c
	ic.Users, ic.Devices, ic.ReadFrac = c.Idle, 1, 0
	return &ic
}

// steadyGoroutines is this process's goroutine count once it has stopped
// changing (the same for 5 looks 10 ms apart, at most 2 s): goroutines of
// closed HTTP connections end a little after the close.
func steadyGoroutines(ctx context.Context) int {
	n, same := runtime.NumGoroutine(), 0
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for deadline := time.Now().Add(2 * time.Second); same < 5 && time.Now().Before(deadline) && ctx.Err() == nil; {
		<-t.C
		if m := runtime.NumGoroutine(); m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}

// metricsClient asks for /metrics without keeping the connection (and
// its goroutines) around.
var metricsClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// goroutines reads go_goroutines from the server's GET /metrics.
func (r *runner) goroutines(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := metricsClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseGauge(resp.Body, "go_goroutines")
}

// parseGauge finds an unlabelled sample of name in a Prometheus text
// exposition.
func parseGauge(rd io.Reader, name string) (int64, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), name+" ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", name, v, err)
		}
		return int64(f), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s sample in GET /metrics", name)
}

// connected counts the devices whose socket is open.
func (r *runner) connected() (n int) {
	for _, ds := range r.devs {
		for _, d := range ds {
			d.mu.Lock()
			if d.conn != nil {
				n++
			}
			d.mu.Unlock()
		}
	}
	return n
}

// closeAll stops every device's reconnecting and closes its socket.
func (r *runner) closeAll() {
	if r.stopDevs != nil {
		r.stopDevs()
	}
	for _, ds := range r.devs {
		for _, d := range ds {
			d.mu.Lock()
			if d.conn != nil {
				_ = d.conn.CloseNow()
			}
			d.mu.Unlock()
		}
	}
}
