package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBearer(t *testing.T) {
	handshake := func(h http.Header) http.Header {
		h.Set("Connection", "keep-alive, Upgrade")
		h.Set("Upgrade", "WebSocket")
		return h
	}
	tests := []struct {
		name          string
		method        string
		header        http.Header
		rest, upgrade string // want of bearer, of handshakeBearer
	}{
		{"none", "GET", http.Header{}, "", ""},
		{"authorization", "GET", http.Header{"Authorization": {"Bearer tdg_abc"}}, "tdg_abc", "tdg_abc"},
		{"authorization any case", "GET", http.Header{"Authorization": {"bearer  tdg_abc "}}, "tdg_abc", "tdg_abc"},
		{"other scheme", "GET", http.Header{"Authorization": {"Basic dXNlcg=="}}, "", ""},
		{"subprotocol on a handshake", "GET", handshake(http.Header{"Sec-Websocket-Protocol": {"tidings.v1, bearer.tdg_abc"}}), "", "tdg_abc"},
		{"subprotocol in its own header line", "GET", handshake(http.Header{"Sec-Websocket-Protocol": {"tidings.v1", "bearer.tdg_abc"}}), "", "tdg_abc"},
		{"subprotocol without token", "GET", handshake(http.Header{"Sec-Websocket-Protocol": {"tidings.v1"}}), "", ""},
		{"subprotocol without an upgrade", "GET", http.Header{"Sec-Websocket-Protocol": {"bearer.tdg_abc"}}, "", ""},
		{"subprotocol on a POST upgrade", "POST", handshake(http.Header{"Sec-Websocket-Protocol": {"bearer.tdg_abc"}}), "", ""},
		{"authorization wins", "GET", handshake(http.Header{"Authorization": {"Bearer tdg_a"}, "Sec-Websocket-Protocol": {"bearer.tdg_b"}}), "tdg_a", "tdg_a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{Method: tt.method, Header: tt.header}
			if got := bearer(r); got != tt.rest {
				t.Errorf("bearer() = %q, want %q", got, tt.rest)
			}
			if got := handshakeBearer(r); got != tt.upgrade {
				t.Errorf("handshakeBearer() = %q, want %q", got, tt.upgrade)
			}
		})
	}
}

func TestMetricsGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	tests := []struct {
		name, token, remote, auth string
		want                      int
	}{
		{"loopback without a token configured", "", "127.0.0.1:5000", "", http.StatusOK},
		{"ipv6 loopback", "", "[::1]:5000", "", http.StatusOK},
		{"remote without a token configured", "", "10.1.2.3:5000", "", http.StatusForbidden},
		{"forged forwarded-for does not help", "", "10.1.2.3:5000", "", http.StatusForbidden},
		{"right token from anywhere", "s3cret", "10.1.2.3:5000", "Bearer s3cret", http.StatusOK},
		{"wrong token", "s3cret", "127.0.0.1:5000", "Bearer nope", http.StatusForbidden},
		{"no token when one is configured", "s3cret", "127.0.0.1:5000", "", http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Config{MetricsToken: tc.token}, Deps{})
			r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			r.RemoteAddr = tc.remote
			r.Header.Set("X-Forwarded-For", "127.0.0.1")
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			s.metricsGuard(ok).ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d", w.Code, tc.want)
			}
		})
	}
}
