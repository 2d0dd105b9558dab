package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/domain"
)

// Methods are a client's choice: each unknown one would be a metrics
// series kept for ever (issue 11.12). They all count as "other".
func TestMetricsMethodLabelsAreAClosedSet(t *testing.T) {
	m := httpapi.NewMetrics()
	h := newHarness(t, httpapi.Config{}, func(d *httpapi.Deps) { d.Metrics = m })
	for _, method := range []string{"GET", "BREW", "X-" + strings.Repeat("A", 40), "PROPFIND"} {
		h.do(method, "/healthz", nil, "")
	}
	r := h.do(http.MethodGet, "/metrics", nil, "") // httptest's peer is 192.0.2.1: not loopback
	if r.Code == http.StatusOK {
		t.Fatal("/metrics answered a non-loopback peer without a token")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	w := rec.Body.String()
	for _, bad := range []string{"BREW", "PROPFIND", "X-AAA"} {
		if strings.Contains(w, bad) {
			t.Errorf("metrics hold a series for method %q", bad)
		}
	}
	if !strings.Contains(w, `method="other"`) || !strings.Contains(w, `method="GET"`) {
		t.Errorf("metrics lack the GET and other series:\n%s", w)
	}
}

// /readyz names the components that are not ready and nothing of the
// causes (hosts, users, broker addresses; issue 11.13).
func TestReadyzNamesComponentsOnly(t *testing.T) {
	secret := errors.New(`failed to connect to user=tidings host=10.1.2.3 database=tidings: password authentication failed`)
	h := newHarness(t, httpapi.Config{}, func(d *httpapi.Deps) {
		d.Ready = func(context.Context) error {
			return &httpapi.NotReady{Components: []string{"kafka", "postgres"}, Err: secret}
		}
	})
	r := h.do(http.MethodGet, "/readyz", nil, "")
	body := r.Body.String()
	if r.Code != http.StatusServiceUnavailable || !strings.Contains(body, "kafka, postgres") {
		t.Fatalf("/readyz: %d %s, want 503 naming kafka and postgres", r.Code, body)
	}
	for _, leak := range []string{"10.1.2.3", "user=", "password"} {
		if strings.Contains(body, leak) {
			t.Errorf("/readyz leaks %q: %s", leak, body)
		}
	}
}

func TestTimesHaveMillisecondsAlways(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"whole second", time.Date(2026, 12, 2, 17, 1, 14, 0, time.UTC), "2026-12-02T17:01:14.000Z"},
		{"tenths", time.Date(2026, 12, 2, 17, 1, 14, 300e6, time.UTC), "2026-12-02T17:01:14.300Z"},
		{"another zone", time.Date(2026, 12, 2, 18, 1, 14, 33e6, time.FixedZone("CET", 3600)), "2026-12-02T17:01:14.033Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.FormatTime(tc.t); got != tc.want {
				t.Fatalf("FormatTime = %s, want %s", got, tc.want)
			}
			b, err := json.Marshal(httpapi.MessageJSON(domain.Message{SentAt: tc.t, Status: domain.StatusSent}))
			if err != nil || !strings.Contains(string(b), `"sent_at":"`+tc.want+`"`) {
				t.Fatalf("message JSON %s (%v), want sent_at %s", b, err, tc.want)
			}
		})
	}
}

// TestMetricsBuildInfoAndWebSockets checks tidings_build_info and the
// WebSocket gauges, read at each scrape.
func TestMetricsBuildInfoAndWebSockets(t *testing.T) {
	m := httpapi.NewMetrics()
	m.SetBuildInfo("v1.2.3", "0123abcd", "go1.26.0")
	conns, users := 3, 2
	m.WatchWebSockets(func() (int, int) { return conns, users })
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Body.String()
	}
	want := []string{
		`tidings_build_info{go="go1.26.0",revision="0123abcd",version="v1.2.3"} 1`,
		"tidings_websocket_connections 3",
		"tidings_websocket_users 2",
	}
	got := scrape()
	for _, w := range want {
		if !strings.Contains(got, w+"\n") {
			t.Errorf("metrics lack %q:\n%s", w, got)
		}
	}
	conns, users = 0, 0
	if got := scrape(); !strings.Contains(got, "tidings_websocket_connections 0\n") || !strings.Contains(got, "tidings_websocket_users 0\n") {
		t.Errorf("gauges not read again at the next scrape:\n%s", got)
	}
}
