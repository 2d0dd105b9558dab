package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

type sessionJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
}

func decodeSession(t *testing.T, w *httptest.ResponseRecorder) sessionJSON {
	t.Helper()
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d (%s), want 201", w.Code, w.Body)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", cc)
	}
	var s sessionJSON
	if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	exp, err := time.Parse(time.RFC3339Nano, s.ExpiresAt)
	if err != nil || !strings.HasPrefix(s.Token, commands.TokenPrefix) || time.Until(exp) < 29*24*time.Hour {
		t.Fatalf("session %+v: expiry %v", s, err)
	}
	return s
}

func TestSignInRotateAndSignOut(t *testing.T) {
	var (
		mu        sync.Mutex
		signedOut []commands.TokenHash
	)
	h := newHarness(t, httpapi.Config{OpenRegistration: true}, func(d *httpapi.Deps) {
		d.SignedOut = func(th commands.TokenHash) { mu.Lock(); signedOut = append(signedOut, th); mu.Unlock() }
	})
	up := decodeSession(t, h.do("POST", "/users", nil, `{"name":"alice","password":"correct horse"}`))
	expectError(t, h.do("POST", "/users", nil, `{"name":"bob","password":"short"}`), http.StatusBadRequest, domain.CodeInvalidPassword)

	t.Run("WrongPassword", func(t *testing.T) {
		w := h.do("POST", "/sessions", nil, `{"name":"alice","password":"wrong horse"}`)
		expectError(t, w, http.StatusUnauthorized, domain.CodeInvalidCredentials)
		expectError(t, h.do("POST", "/sessions", nil, `{"name":"nobody","password":"correct horse"}`), http.StatusUnauthorized, domain.CodeInvalidCredentials)
		expectError(t, h.do("POST", "/sessions", nil, `{"name":"alice"}`), http.StatusBadRequest, domain.CodeMissingField)
		expectError(t, h.do("POST", "/sessions", nil, ""), http.StatusBadRequest, domain.CodeMissingField)
		expectError(t, h.do("POST", "/sessions", nil, `{"name":"alice","password":"correct horse","x":1}`), http.StatusBadRequest, domain.CodeUnknownField)
	})
	in := decodeSession(t, h.do("POST", "/sessions", nil, `{"name":"alice","password":"correct horse"}`))
	if in.ID != up.ID || in.Token == up.Token {
		t.Fatalf("sign-in %+v after sign-up %+v", in, up)
	}
	for _, tok := range []string{up.Token, in.Token} {
		if w := h.do("GET", "/me", bearerHeader(tok), ""); w.Code != http.StatusOK {
			t.Fatalf("GET /me: %d", w.Code)
		}
	}

	// Rotation: no body, a bearer token; the old token stops working.
	rot := decodeSession(t, h.do("POST", "/sessions", bearerHeader(in.Token), ""))
	if rot.ID != up.ID || rot.Token == in.Token {
		t.Fatalf("rotation %+v", rot)
	}
	expectError(t, h.do("GET", "/me", bearerHeader(in.Token), ""), http.StatusUnauthorized, domain.CodeUnauthorized)
	expectError(t, h.do("POST", "/sessions", bearerHeader(in.Token), ""), http.StatusUnauthorized, domain.CodeUnauthorized)

	// Sign-out: that token only, at once.
	if w := h.do("DELETE", "/sessions/current", bearerHeader(rot.Token), ""); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE /sessions/current: %d %s", w.Code, w.Body)
	}
	expectError(t, h.do("GET", "/me", bearerHeader(rot.Token), ""), http.StatusUnauthorized, domain.CodeUnauthorized)
	expectError(t, h.do("DELETE", "/sessions/current", bearerHeader(rot.Token), ""), http.StatusUnauthorized, domain.CodeUnauthorized)
	if w := h.do("GET", "/me", bearerHeader(up.Token), ""); w.Code != http.StatusOK {
		t.Fatalf("signing out one token revoked another: %d", w.Code)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(signedOut) != 2 || signedOut[0] != commands.HashToken(in.Token) || signedOut[1] != commands.HashToken(rot.Token) {
		t.Fatalf("SignedOut told of %d tokens, want the rotated-out and the signed-out one", len(signedOut))
	}
}

func TestSignUpAndSignInAreLimitedPerAddress(t *testing.T) {
	trusted, _ := httpapi.ParseTrustedProxies([]string{"10.0.0.1"})
	h := newHarness(t, httpapi.Config{OpenRegistration: true, TrustedProxies: trusted}, func(d *httpapi.Deps) {
		d.Limits = httpapi.Limits{
			SignUp: commands.NewRateLimiter(0.01, 2, nil),
			SignIn: commands.NewRateLimiter(0.01, 3, nil),
		}
	})
	from := func(method, path, remote, xff, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = remote
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		w := httptest.NewRecorder()
		h.api.ServeHTTP(w, r)
		return w
	}
	tests := []struct {
		name, path, body string
		burst            int
	}{
		{"SignUp", "/users", `{"name":"u%d"}`, 2},
		{"SignIn", "/sessions", `{"name":"nobody","password":"whatever1"}`, 3},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := func(n int) string { return strings.ReplaceAll(tc.body, "%d", string(rune('a'+i*10+n))) }
			for n := range tc.burst {
				// A forged X-Forwarded-For from a direct client changes nothing.
				if w := from("POST", tc.path, "203.0.113.7:1", "198.51.100."+string(rune('1'+n)), body(n)); w.Code == http.StatusTooManyRequests {
					t.Fatalf("request %d within the burst: 429", n)
				}
			}
			w := from("POST", tc.path, "203.0.113.7:2", "198.51.100.99", body(8))
			expectError(t, w, http.StatusTooManyRequests, domain.CodeRateLimited)
			if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
				t.Fatalf("Retry-After %q", ra)
			}
			// Another client is not limited; nor is a client behind the
			// trusted proxy, keyed by its forwarded address.
			if w := from("POST", tc.path, "203.0.113.8:1", "", body(9)); w.Code == http.StatusTooManyRequests {
				t.Fatal("another address is limited too")
			}
			if w := from("POST", tc.path, "10.0.0.1:1", "198.51.100.50", body(7)); w.Code == http.StatusTooManyRequests {
				t.Fatal("a client behind the trusted proxy is limited by another's budget")
			}
		})
	}
}
