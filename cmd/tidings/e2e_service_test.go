package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Service-level behaviour of the walkthrough: health checks, metrics and the
// send rate limit.

// testHealthAndMetrics checks /healthz, /readyz and that /metrics exposes the
// request, append and projection metrics with counts that cover the traffic
// the walkthrough made so far.
func (w *world) testHealthAndMetrics(t *testing.T) {
	for _, path := range []string{"/healthz", "/readyz"} {
		expectStatus(t, w.api.do(t, request{Method: http.MethodGet, Path: path}), http.StatusOK)
	}
	res := w.api.do(t, request{Method: http.MethodGet, Path: "/metrics"})
	expectStatus(t, res, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/metrics Content-Type %q, want text/plain", ct)
	}
	body := string(res.Body)
	for _, want := range []string{
		"# TYPE tidings_http_requests_total counter",
		"# TYPE tidings_events_appended_total counter",
		"# TYPE tidings_projector_lag_seconds histogram",
		`code="401"`,
		`code="413"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	sent := metricValue(t, body, `tidings_events_appended_total{type="MessageSent"}`)
	read := metricValue(t, body, `tidings_events_appended_total{type="MessageRead"}`)
	lag := metricValue(t, body, `tidings_projector_lag_seconds_count`)
	var nRead int
	for _, m := range w.model.all() {
		if m.Status == "read" {
			nRead++
		}
	}
	if n := len(w.model.all()); sent < float64(n) || read < float64(nRead) || lag < float64(n+nRead) {
		t.Errorf("appended MessageSent %v, MessageRead %v, lag count %v; want at least %d, %d and %d",
			sent, read, lag, n, nRead, n+nRead)
	}
}

// metricValue returns the value of the sample line that starts with name.
func metricValue(t *testing.T, body, name string) float64 {
	t.Helper()
	for line := range strings.Lines(body) {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			var v float64
			if _, err := fmt.Sscan(strings.TrimSpace(rest), &v); err != nil {
				t.Errorf("metric %s: %q: %v", name, rest, err)
			}
			return v
		}
	}
	t.Errorf("/metrics has no sample %s", name)
	return 0
}

// testRateLimit runs a server with a burst of 3 and 0.5 sends a second,
// started through TIDINGS_ADDR and TIDINGS_DATA.
func testRateLimit(t *testing.T) {
	inst := newInstance(t)
	srv := inst.start(t, serverOptions{AddrDataFromEnv: true, Flags: []string{"--send-burst", "3", "--send-rate", "0.5"}})
	w := &world{inst: inst, srv: srv, pos: newPositions(), model: newModel(), sfx: randomSuffix(6)}
	w.connect(t, srv)
	ann, ben := w.api.register(t, w.name("ann")), w.api.register(t, w.name("ben"))

	for i := range 3 {
		w.send(t, ann, ben, "burst "+strconv.Itoa(i), "")
	}
	res := w.api.post(t, ann, "/messages", map[string]string{"to": ben.ID, "text": "one too many"})
	expectError(t, res, http.StatusTooManyRequests, "rate_limited")
	ra := res.Header.Get("Retry-After")
	wait, err := strconv.Atoi(ra)
	if err != nil || wait < 1 || wait > 2 {
		t.Fatalf("Retry-After %q, want 1 or 2 seconds (burst 3, 0.5/s)", ra)
	}
	// The limit is per user.
	w.send(t, ben, ann, "ben is not limited", "")
	time.Sleep(time.Duration(wait)*time.Second + 100*time.Millisecond)
	w.send(t, ann, ben, "after Retry-After", "")
	checkViews(t, w.api, w.model, ann, ben)
}
