package main

// Several nodes behind a load balancer: three "tidings serve" processes
// sharing the real Kafka topic, Cassandra keyspace and PostgreSQL database,
// behind nginx as scripts/nginx.sh runs it. One node is SIGKILLed while
// messages flow; its WebSocket clients reconnect through nginx and resume
// from their last cursor, REST sends cut off are retried with the same
// client_msg_id, and in the end every acknowledged message reached its
// recipient exactly once, in order per sender.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Shape of the multi-node run.
const (
	mnNodes       = 3
	mnUsers       = 9                      // one WebSocket each, three per node
	mnTraffic     = 10 * time.Second       // how long the senders send
	mnKillAfter   = 4 * time.Second        // when a node is SIGKILLed
	mnSendEvery   = 150 * time.Millisecond // pause of each sender between sends (~60 msg/s in all)
	mnSendTimeout = 30 * time.Second       // retrying one send gives up after this
	mnDeliverWait = 15 * time.Second       // after the traffic, for the last pushes (they take well under 1 s)
)

// TestMultiNodeBehindNginx runs the scenario of the file comment. It needs
// the real backends (TIDINGS_E2E_REAL=1): the embedded ones belong to one
// process.
func TestMultiNodeBehindNginx(t *testing.T) {
	if !realBackends() {
		t.Skip("multi-node test: needs TIDINGS_E2E_REAL=1 and the real Kafka, Cassandra and PostgreSQL (scripts/services.sh), which the nodes share")
	}
	began := time.Now()
	inst := newInstance(t)

	// Three nodes: same topic and keyspace (the instance's), a data folder
	// each, no rate limit. One after the other, so that only the first
	// runs the migrations for real.
	var nodes []*server
	var ports []string
	for range mnNodes {
		s := inst.start(t, serverOptions{Flags: []string{"--data", t.TempDir(), "--send-rate", "0"}})
		_, port, err := net.SplitHostPort(s.addr)
		if err != nil {
			t.Fatalf("node address %q: %v", s.addr, err)
		}
		nodes, ports = append(nodes, s), append(ports, port)
	}
	lb, nginxDir := mnStartNginx(t, ports)
	// A node whose background loops (projectors, push tail) died at start
	// still answers /readyz, but its WebSockets never hear of anything.
	for i, s := range nodes {
		for line := range strings.Lines(s.log.String()) {
			if strings.Contains(line, `stopped" err=`) {
				t.Errorf("node %d: a background loop died at start-up, its WebSocket clients will get no live pushes: %s", i, strings.TrimSpace(line))
			}
		}
	}
	t.Logf("%d nodes on %v behind nginx on %s, started in %v", mnNodes, ports, lb, time.Since(began).Round(time.Millisecond))

	// Users sign up through nginx, so on every node.
	pos := newPositions()
	tr := &http.Transport{MaxIdleConnsPerHost: 4 * mnUsers}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Timeout: 15 * time.Second, Transport: tr}
	a := &api{base: lb, hc: hc, pos: pos}
	sfx := randomSuffix(6)
	users := make([]user, mnUsers)
	for i := range users {
		users[i] = a.register(t, fmt.Sprintf("mn%d-%s", i, sfx))
	}
	index := map[string]int{}
	for i, u := range users {
		index[u.ID] = i
	}

	// One WebSocket each, through nginx: round robin puts three on each
	// node. They run until the end of the test.
	ctx, cancel := context.WithCancel(context.Background())
	var clientsWG sync.WaitGroup
	clients := make([]*mnClient, mnUsers)
	for i, u := range users {
		c := &mnClient{idx: i, u: u, lb: lb, index: index, ready: make(chan struct{}),
			got: map[string]int{}, echoed: map[string]int{}, lastSeq: map[int]int{}}
		clients[i] = c
		clientsWG.Add(1)
		go func() { defer clientsWG.Done(); c.run(ctx) }()
		// One at a time, so that nginx's round robin spreads them evenly.
		select {
		case <-c.ready:
		case <-time.After(15 * time.Second):
			cancel()
			t.Fatalf("client %d: no ready frame within 15s: %v", i, c.errs())
		}
	}
	t.Cleanup(func() { cancel(); clientsWG.Wait() })

	// The senders: every user sends to every other user in turn, one send
	// at a time, each with a client_msg_id, and retries a send that failed
	// for want of a node (connection error, 502, 503, 504) with the same
	// client_msg_id until it is acknowledged.
	var (
		mu       sync.Mutex
		acked    = map[string]mnSent{} // message id -> the send
		byCMID   = map[string]string{} // client_msg_id -> message id
		failures []string
		retried  atomic.Int64
		sends    atomic.Int64
	)
	stop := make(chan struct{})
	var burst atomic.Bool // senders do not pause: many sends in flight when the node dies
	var sendersWG sync.WaitGroup
	for i, from := range users {
		sendersWG.Add(1)
		go func() {
			defer sendersWG.Done()
			seq := map[int]int{}
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			time.Sleep(time.Duration(rng.Int64N(int64(mnSendEvery)))) // spread the senders
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				to := (i + 1 + n%(mnUsers-1)) % mnUsers
				s := mnSent{from: i, to: to, seq: seq[to]}
				s.cmid = fmt.Sprintf("mn-%d-%d-%d", i, to, s.seq)
				text := fmt.Sprintf("mn %d>%d #%d", i, to, s.seq)
				seq[to]++
				m, position, attempts, err := mnSend(hc, lb, from, users[to].ID, text, s.cmid)
				sends.Add(1)
				retried.Add(int64(attempts - 1))
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Sprintf("send %s: %v", s.cmid, err))
					mu.Unlock()
					return
				}
				if m.Text != text || m.From != from.ID || m.To != users[to].ID || m.ClientMsgID == nil || *m.ClientMsgID != s.cmid {
					failures = append(failures, fmt.Sprintf("send %s acknowledged %v", s.cmid, m))
				}
				if prev, ok := byCMID[s.cmid]; ok && prev != m.ID {
					failures = append(failures, fmt.Sprintf("client_msg_id %s acknowledged as %s and %s", s.cmid, prev, m.ID))
				}
				if prev, ok := acked[m.ID]; ok {
					failures = append(failures, fmt.Sprintf("id %s acknowledged for %s and %s", m.ID, prev.cmid, s.cmid))
				}
				s.attempts = attempts
				byCMID[s.cmid], acked[m.ID] = m.ID, s
				mu.Unlock()
				pos.add(t, position)
				if !burst.Load() {
					time.Sleep(mnSendEvery)
				}
			}
		}()
	}

	trafficStart := time.Now()
	time.Sleep(mnKillAfter - 300*time.Millisecond)
	burst.Store(true)
	time.Sleep(300 * time.Millisecond)
	victim := 1
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	nodes[victim].kill()
	killedAt := time.Now()
	time.Sleep(100 * time.Millisecond)
	burst.Store(false)
	t.Logf("SIGKILLed node %d (%s) after %d acknowledged sends", victim, nodes[victim].addr, before)
	time.Sleep(time.Until(trafficStart.Add(mnTraffic)))
	close(stop)
	sendersWG.Wait()
	trafficEnd := time.Now()
	mu.Lock()
	if len(failures) > 0 {
		t.Fatalf("%d sends failed, e.g.:\n%s", len(failures), strings.Join(failures[:min(len(failures), 10)], "\n"))
	}
	total := len(acked)
	mu.Unlock()
	t.Logf("%d sends acknowledged in %v (%d HTTP attempts retried with the same client_msg_id)",
		total, trafficEnd.Sub(trafficStart).Round(time.Millisecond), retried.Load())
	for id, s := range acked {
		if s.attempts > 1 {
			t.Logf("send %s acknowledged as %s after %d attempts", s.cmid, id, s.attempts)
		}
	}
	if total < 100 {
		t.Errorf("only %d messages acknowledged in %v, want a few hundred", total, mnTraffic)
	}

	// Every recipient gets every acknowledged message, over however many
	// connections.
	want := make([]map[string]bool, mnUsers)
	for i := range want {
		want[i] = map[string]bool{}
	}
	for id, s := range acked {
		want[s.to][id] = true
	}
	deadline := time.Now().Add(mnDeliverWait)
	for {
		missing := 0
		for i, c := range clients {
			missing += c.missing(want[i])
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			for i, c := range clients {
				if ids := c.missingIDs(want[i]); len(ids) > 0 {
					var desc []string
					for _, id := range ids[:min(len(ids), 5)] {
						s := acked[id]
						desc = append(desc, fmt.Sprintf("%s (%s)", id, s.cmid))
					}
					t.Errorf("client %d (%d connections, last cursor %s): %d of %d acknowledged messages never pushed, e.g. %s",
						i, c.connects.Load(), c.cursor(), len(ids), len(want[i]), strings.Join(desc, ", "))
				}
			}
			t.Errorf("%d acknowledged messages not pushed %v after the traffic ended (node killed %v before the end)",
				missing, mnDeliverWait, trafficEnd.Sub(killedAt).Round(time.Millisecond))
			for i, s := range nodes {
				for line := range strings.Lines(s.log.String()) {
					if strings.Contains(line, "push skipped") {
						t.Errorf("node %d gave up a live push, and its client was not told: %s", i, strings.TrimSpace(line))
					}
				}
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	delivered := time.Now()

	// Exactly once, in order per sender, nothing unknown; the victim's
	// clients lost their connection and resumed, the others did not.
	dropped := 0
	for i, c := range clients {
		c.mu.Lock()
		for id, n := range c.got {
			if n > 1 {
				why := ""
				if acked[id].attempts > 1 {
					why = fmt.Sprintf(": its send was retried (%d attempts), so the log may hold its MessageSent twice", acked[id].attempts)
				}
				t.Errorf("client %d: message %s (%s) pushed %d times over %d connections%s",
					i, id, acked[id].cmid, n, c.connects.Load(), why)
			}
			if !want[i][id] {
				t.Errorf("client %d: pushed message %s that was not acknowledged to it", i, id)
			}
		}
		for _, p := range c.problems {
			t.Errorf("client %d: %s", i, p)
		}
		c.mu.Unlock()
		if n := c.connects.Load(); n > 1 {
			dropped++
			t.Logf("client %d: %d connections (resumed with ?since=)", i, n)
		}
	}
	// Each client's own sends came back to it as sent frames (its
	// WebSocket sent none of them: they were posted), once each unless the
	// send was retried (the log may then hold its echo twice, and a
	// resume between the two copies shows both).
	for deadline := time.Now().Add(mnDeliverWait); ; time.Sleep(100 * time.Millisecond) {
		missing := 0
		for id, s := range acked {
			c := clients[s.from]
			c.mu.Lock()
			if c.echoed[id] == 0 {
				missing++
			}
			c.mu.Unlock()
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d acknowledged sends never came back to their sender's device as a sent frame", missing)
			break
		}
	}
	for i, c := range clients {
		c.mu.Lock()
		for id, n := range c.echoed {
			if s, ok := acked[id]; !ok || s.from != i {
				t.Errorf("client %d: sent frame of message %s it did not send", i, id)
			} else if n > 1 && s.attempts == 1 {
				t.Errorf("client %d: its message %s (%s) echoed %d times, its send not retried", i, id, s.cmid, n)
			}
		}
		c.mu.Unlock()
	}
	if dropped == 0 {
		t.Errorf("no WebSocket client lost its connection when node %d died: did nginx not spread them?", victim)
	}

	// The views agree, on every node that is left: each user's unread
	// inbox (read through nginx, waiting for every acknowledged position)
	// holds exactly the messages acknowledged to it.
	for i, u := range users {
		got, _ := collect[message](t, a, u, "/messages?limit=100")
		var ids []string
		for _, m := range got {
			ids = append(ids, m.ID)
		}
		var wantIDs []string
		for id := range want[i] {
			wantIDs = append(wantIDs, id)
		}
		slices.Sort(ids)
		slices.Sort(wantIDs)
		if !slices.Equal(ids, wantIDs) {
			t.Errorf("GET /messages as user %d: %d messages, want the %d acknowledged to it", i, len(ids), len(wantIDs))
		}
	}
	// REST went round robin: each surviving node served sends.
	for i, s := range nodes {
		if i == victim {
			continue
		}
		if n := mnServedSends(t, s); n == 0 {
			t.Errorf("node %d served no POST /messages: nginx did not balance REST", i)
		}
	}
	// nginx logged no secret: no token, no query string.
	logged, err := os.ReadFile(filepath.Join(nginxDir, "logs", "access.log"))
	if err != nil {
		t.Fatalf("nginx access log: %v", err)
	}
	if len(logged) == 0 || strings.Contains(string(logged), "since=") {
		t.Errorf("nginx access log is empty or has query strings:\n%.500s", logged)
	}
	for _, u := range users {
		if strings.Contains(string(logged), u.Token) || strings.Contains(string(logged), u.Token[4:]) {
			t.Errorf("nginx access log holds the token of %s", u.Name)
		}
	}
	t.Logf("%d messages; pushes settled %v after the traffic; test took %v",
		total, delivered.Sub(trafficEnd).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// mnSent is one acknowledged send.
