package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/domain"
)

// TestMethodNotAllowedSaysAllow: a 405 names the route's methods in Allow
// (RFC 9110 15.5.6), whether or not the request is authenticated.
func TestMethodNotAllowedSaysAllow(t *testing.T) {
	h := newHarness(t, httpapi.Config{}, func(d *httpapi.Deps) {
		d.Metrics = httpapi.NewMetrics()
		d.Extra = func(r chi.Router) { r.Get("/ws", func(http.ResponseWriter, *http.Request) {}) }
	})
	_, token := h.user("alice")
	tests := []struct {
		method, path, allow string
	}{
		{http.MethodPost, "/me", "GET, DELETE"},
		{http.MethodDelete, "/messages", "GET, POST"},
		{http.MethodPut, "/messages", "GET, POST"},
		{http.MethodPost, "/messages/01M8B1QD6N1FB7JWSADHT788G0", "GET, PUT, PATCH, DELETE"},
		{http.MethodPost, "/messages/01M8B1QD6N1FB7JWSADHT788G0/versions", "GET"},
		{http.MethodPost, "/conversations", "GET"},
		{http.MethodPatch, "/conversations/01M8B1QD6N1FB7JWSADHT788G0/messages", "GET"},
		{http.MethodDelete, "/users", "GET, POST"},
		{http.MethodPost, "/users/01M8B1QD6N1FB7JWSADHT788G0", "GET"},
		{http.MethodPost, "/healthz", "GET"},
		{http.MethodDelete, "/readyz", "GET"},
		{http.MethodPost, "/ws", "GET"},
		{http.MethodPost, "/metrics", "GET"},
		{http.MethodDelete, "/metrics", "GET"},
	}
	for _, tc := range tests {
		for _, auth := range []bool{false, true} {
			name := tc.method + " " + tc.path
			if auth {
				name += " authenticated"
			}
			t.Run(name, func(t *testing.T) {
				hdr := http.Header{}
				if auth {
					hdr = bearerHeader(token)
				}
				w := h.do(tc.method, tc.path, hdr, "")
				expectError(t, w, http.StatusMethodNotAllowed, domain.CodeMethodNotAllowed)
				if got := w.Header().Values("Allow"); len(got) != 1 || got[0] != tc.allow {
					t.Fatalf("Allow %q, want %q", got, tc.allow)
				}
			})
		}
	}
}
