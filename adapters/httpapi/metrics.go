package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the Prometheus metrics of a node. Safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// Appended counts events appended, by type.
	Appended *prometheus.CounterVec
	// Projected counts events applied to the views, by type.
	Projected *prometheus.CounterVec
	// Lag observes seconds from an event's time to its projection.
	Lag prometheus.Histogram
}

// NewMetrics registers the metrics in a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tidings_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		Appended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_events_appended_total", Help: "Events appended to the log by type.",
		}, []string{"type"}),
		Projected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_events_projected_total", Help: "Events applied to the views by type.",
		}, []string{"type"}),
		Lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tidings_projector_lag_seconds", Help: "Time from an event's creation to its projection.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30},
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.Appended, m.Projected, m.Lag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// SetBuildInfo publishes tidings_build_info{version, revision, go} = 1, the
// usual Prometheus way to tell which build each node runs. Call it once.
func (m *Metrics) SetBuildInfo(version, revision, goVersion string) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tidings_build_info", Help: "Always 1; the labels say which build of tidings this node runs.",
	}, []string{"version", "revision", "go"})
	g.WithLabelValues(version, revision, goVersion).Set(1)
	m.reg.MustRegister(g)
}

// WatchWebSockets publishes the gauges tidings_websocket_connections (open
// WebSocket connections on this node) and tidings_websocket_users (users
// with at least one), read from open at every scrape. open must be safe
// for concurrent use and cheap. Call it once.
func (m *Metrics) WatchWebSockets(open func() (conns, users int)) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tidings_websocket_connections", Help: "Open WebSocket connections on this node.",
		}, func() float64 { c, _ := open(); return float64(c) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tidings_websocket_users", Help: "Users with at least one open WebSocket connection on this node.",
		}, func() float64 { _, u := open(); return float64(u) }),
	)
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

func (s *Server) instrument(next http.Handler) http.Handler {
	if s.metrics == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route, method := routeOf(r), methodLabel(r.Method)
		s.metrics.requests.WithLabelValues(route, method, strconv.Itoa(ww.Status())).Inc()
		if route != "/ws" { // a WebSocket lives for hours: not a request latency
			s.metrics.latency.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		}
	})
}

// methodLabel keeps the method label to a closed set: a client chooses the
// method, and every new label value is a series kept for ever.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
