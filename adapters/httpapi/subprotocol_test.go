package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/domain"
)

// TestSubprotocolTokenOnlyOpensWebSocket: a "bearer.<token>" WebSocket
// subprotocol authenticates the WebSocket handshake (GET /ws with
// Upgrade: websocket) and nothing else; REST takes Authorization: Bearer.
func TestSubprotocolTokenOnlyOpensWebSocket(t *testing.T) {
	var reached domain.UserID
	h := newHarness(t, httpapi.Config{}, func(d *httpapi.Deps) {
		d.Extra = func(r chi.Router) {
			r.Get("/ws", func(w http.ResponseWriter, r *http.Request) {
				u, _ := httpapi.UserFrom(r.Context())
				reached = u.ID
				w.WriteHeader(http.StatusSwitchingProtocols)
			})
		}
	})
	alice, token := h.user("alice")
	bob, _ := h.user("bob")
	sub := func(extra ...string) http.Header {
		hdr := http.Header{"Sec-Websocket-Protocol": {"tidings.v1, bearer." + token}}
		for i := 0; i+1 < len(extra); i += 2 {
			hdr.Set(extra[i], extra[i+1])
		}
		return hdr
	}
	upgrade := func() http.Header { return sub("Connection", "Upgrade", "Upgrade", "websocket") }
	rest := []struct{ method, path, body string }{
		{http.MethodGet, "/me", ""},
		{http.MethodGet, "/messages", ""},
		{http.MethodPost, "/messages", `{"to":"` + string(bob) + `","text":"hi"}`},
		{http.MethodGet, "/conversations", ""},
		{http.MethodGet, "/conversations/" + string(bob) + "/messages", ""},
		{http.MethodGet, "/users?name=bob", ""},
		{http.MethodGet, "/users/" + string(bob), ""},
	}
	for _, e := range rest {
		t.Run("REST "+e.method+" "+e.path, func(t *testing.T) {
			for _, hdr := range []http.Header{sub(), upgrade()} {
				expectError(t, h.do(e.method, e.path, hdr, e.body), http.StatusUnauthorized, domain.CodeUnauthorized)
			}
		})
	}
	t.Run("GET /ws without an upgrade", func(t *testing.T) {
		expectError(t, h.do(http.MethodGet, "/ws", sub(), ""), http.StatusUnauthorized, domain.CodeUnauthorized)
	})
	for _, tc := range []struct {
		name string
		hdr  http.Header
	}{
		{"GET /ws handshake with the subprotocol token", upgrade()},
		{"GET /ws handshake with Authorization", func() http.Header {
			hdr := bearerHeader(token)
			hdr.Set("Connection", "Upgrade")
			hdr.Set("Upgrade", "websocket")
			return hdr
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reached = ""
			w := h.do(http.MethodGet, "/ws", tc.hdr, "")
			if w.Code != http.StatusSwitchingProtocols || reached != alice {
				t.Fatalf("status %d, user %q; want the handler reached as %s", w.Code, reached, alice)
			}
		})
	}
	t.Run("REST with Authorization", func(t *testing.T) {
		if w := h.do(http.MethodGet, "/me", bearerHeader(token), ""); w.Code != http.StatusOK {
			t.Fatalf("GET /me = %d %s, want 200", w.Code, w.Body)
		}
	})
}
