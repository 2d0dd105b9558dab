package main

// Helpers of the multi-node test: the REST sender and the WebSocket
// clients that go through nginx, and nginx itself.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

type mnSent struct {
	from, to, seq int
	cmid          string
	attempts      int // HTTP attempts until acknowledged
}

// mnSend posts a message through the load balancer and retries it, with
// the same client_msg_id, while the failure is one of reaching a node: a
// connection error, or nginx's 502/504 (the node died with the request) or
// 503. It returns the acknowledged message, its position and the number of
// attempts.
func mnSend(hc *http.Client, lb string, from user, to, text, cmid string) (message, string, int, error) {
	body := map[string]string{"to": to, "text": text, "client_msg_id": cmid}
	deadline := time.Now().Add(mnSendTimeout)
	for attempt := 1; ; attempt++ {
		status, hdr, b, err := postRaw(hc, lb, from.Token, body)
		switch {
		case err == nil && status == http.StatusOK:
			var m message
			if err := json.Unmarshal(b, &m); err != nil {
				return m, "", attempt, fmt.Errorf("decode %s: %v", b, err)
			}
			return m, hdr.Get(positionHeader), attempt, nil
		case err == nil && status != http.StatusBadGateway && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout:
			return message{}, "", attempt, fmt.Errorf("status %d: %s", status, strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			return message{}, "", attempt, fmt.Errorf("still failing after %d attempts in %v: status %d, err %v",
				attempt, mnSendTimeout, status, err)
		}
		time.Sleep(time.Duration(20+rand.IntN(60)) * time.Millisecond)
	}
}

// mnClient is one user's WebSocket client: it connects through the load
// balancer, and whenever the connection drops reconnects with ?since= the
// last cursor it processed.
type mnClient struct {
	idx      int
	u        user
	lb       string
	index    map[string]int // user id -> index
	ready    chan struct{}  // closed at the first ready frame
	connects atomic.Int64

	mu       sync.Mutex
	last     string         // cursor of the last item processed
	got      map[string]int // message id -> times pushed
	echoed   map[string]int // own message id -> times a sent frame named it
	lastSeq  map[int]int    // sender index -> last seq received + 1
	problems []string
	dialErrs []string
}

func (c *mnClient) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.problems) < 20 {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

func (c *mnClient) errs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(append([]string{}, c.problems...), c.dialErrs...)
}

func (c *mnClient) cursor() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

func (c *mnClient) missingIDs(want map[string]bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id := range want {
		if c.got[id] == 0 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (c *mnClient) missing(want map[string]bool) int { return len(c.missingIDs(want)) }

// run connects and reconnects until ctx ends.
func (c *mnClient) run(ctx context.Context) {
	var once sync.Once
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := c.session(ctx, func() { once.Do(func() { close(c.ready) }) })
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.mu.Lock()
			if len(c.dialErrs) < 20 {
				c.dialErrs = append(c.dialErrs, err.Error())
			}
			c.mu.Unlock()
		}
		// Jittered backoff, as docs/websocket.md asks of clients.
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff/2 + time.Duration(rand.Int64N(int64(backoff)))):
		}
		backoff = min(2*backoff, time.Second)
	}
}

var mnCursorFormat = regexp.MustCompile(`^(\d+)-(-?\d+)$`)

// session serves one connection until it drops. The error is nil when the
// connection was up and then dropped, which is what a node's death does.
func (c *mnClient) session(ctx context.Context, ready func()) error {
	u := strings.Replace(c.lb, "http://", "ws://", 1) + "/ws"
	since := c.cursor()
	if since != "" {
		u += "?since=" + url.QueryEscape(since)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, res, err := websocket.Dial(dctx, u, &websocket.DialOptions{
		Subprotocols: []string{"tidings.v1", "bearer." + c.u.Token},
	})
	cancel()
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		return fmt.Errorf("dial %s (status %d): %v", u, status, err)
	}
	defer conn.CloseNow()
	n := c.connects.Add(1)
	if p := conn.Subprotocol(); p != "tidings.v1" {
		c.problem("connection %d: subprotocol %q, want tidings.v1 (through nginx)", n, p)
	}
	conn.SetReadLimit(1 << 20)
	var lastOff int64 = -2
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() == nil && websocket.CloseStatus(err) != -1 && websocket.CloseStatus(err) != websocket.StatusGoingAway &&
				websocket.CloseStatus(err) != websocket.StatusInternalError {
				c.problem("connection %d closed with %v", n, err)
			}
			return nil
		}
		if typ != websocket.MessageText {
			c.problem("connection %d: a %v frame", n, typ)
			continue
		}
		var f struct {
			Type    string          `json:"type"`
			Cursor  string          `json:"cursor"`
			Message json.RawMessage `json:"message"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			c.problem("connection %d: frame %s: %v", n, data, err)
			continue
		}
		if f.Cursor != "" {
			m := mnCursorFormat.FindStringSubmatch(f.Cursor)
			if m == nil {
				c.problem("connection %d: cursor %q", n, f.Cursor)
			} else if off, _ := strconv.ParseInt(m[2], 10, 64); f.Type != "ready" && off <= lastOff {
				c.problem("connection %d: cursor %s after offset %d: not increasing", n, f.Cursor, lastOff)
			} else {
				lastOff = off
			}
		}
		switch f.Type {
		case "ready":
			c.mu.Lock()
			c.last = f.Cursor
			c.mu.Unlock()
			ready()
		case "message":
			var m message
			if err := json.Unmarshal(f.Message, &m); err != nil {
				c.problem("connection %d: message %s: %v", n, f.Message, err)
				continue
			}
			c.received(n, f.Cursor, m)
		case "sent":
			var m message
			if err := json.Unmarshal(f.Message, &m); err != nil || m.From != c.u.ID {
				c.problem("connection %d: sent frame %s of someone else's message (%v)", n, data, err)
				continue
			}
			c.mu.Lock()
			c.last = f.Cursor
			c.echoed[m.ID]++
			c.mu.Unlock()
		case "receipt", "read":
			// None expected (nobody acks or reads); harmless.
		default:
			c.problem("connection %d: unexpected frame %s", n, data)
		}
	}
}

var mnText = regexp.MustCompile(`^mn (\d+)>(\d+) #(\d+)$`)

// received records a pushed message: exactly once, and from each sender in
// the order sent.
func (c *mnClient) received(conn int64, cursor string, m message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cursor != "" {
		c.last = cursor
	} else if len(c.problems) < 20 {
		c.problems = append(c.problems, fmt.Sprintf("connection %d: message %s without a cursor", conn, m.ID))
	}
	c.got[m.ID]++
	if c.got[m.ID] > 1 {
		return // reported at the end
	}
	sm := mnText.FindStringSubmatch(m.Text)
	from, fok := c.index[m.From]
	if sm == nil || !fok || m.To != c.u.ID || sm[1] != strconv.Itoa(from) || sm[2] != strconv.Itoa(c.idx) {
		c.problems = append(c.problems, fmt.Sprintf("connection %d: unexpected message %v", conn, m))
		return
	}
	seq, _ := strconv.Atoi(sm[3])
	if next := c.lastSeq[from]; seq != next && len(c.problems) < 20 {
		c.problems = append(c.problems, fmt.Sprintf("connection %d (cursor %s): from user %d got #%d, want #%d next (order or gap)",
			conn, cursor, from, seq, next))
	}
	c.lastSeq[from] = max(c.lastSeq[from], seq+1)
}

// mnServedSends returns how many POST /messages node s answered 200, from its
// /metrics.
func mnServedSends(t *testing.T, s *server) int {
	t.Helper()
	res, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", s.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	n := 0
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "tidings_http_requests_total{") && strings.Contains(line, `method="POST"`) &&
			strings.Contains(line, `route="/messages"`) && strings.Contains(line, `code="200"`) {
			fields := strings.Fields(line)
			v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			n += int(v)
		}
	}
	return n
}

// mnStartNginx runs scripts/nginx.sh up on a free loopback port in front of
// the node ports, with its folder in a temporary directory, and stops it
// when the test ends. It returns the balancer's base URL and the folder.
func mnStartNginx(t *testing.T, ports []string) (string, string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "nginx.sh"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "nginx")
	port := mnFreePort(t)
	env := append(os.Environ(), "TIDINGS_NGINX_DIR="+dir)
	run := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // may apt-get install nginx
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
		cmd.Env = env
		return cmd.CombinedOutput()
	}
	out, err := run(append([]string{"up", port}, ports...)...)
	if err != nil {
		t.Fatalf("scripts/nginx.sh up: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := run("down"); err != nil {
			t.Errorf("scripts/nginx.sh down: %v\n%s", err, out)
		}
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "logs", "error.log")); err == nil {
				t.Logf("--- nginx error.log\n%s", b)
			}
		}
	})
	return "http://127.0.0.1:" + port, dir
}

// mnFreePort returns a loopback TCP port that was free a moment ago.
func mnFreePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
