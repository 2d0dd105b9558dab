package main

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestSessionsEndToEnd: sign up with a password, sign in again, renew,
// sign out; and the per-address limits of sign-up and sign-in, keyed on the
// forwarded address only behind a trusted proxy. The client address is a
// random one of 198.18.0.0/15 forwarded by loopback (trusted here), so runs
// sharing a PostgreSQL do not share buckets.
func TestSessionsEndToEnd(t *testing.T) {
	t.Parallel()
	inst := newInstance(t)
	srv := inst.start(t, serverOptions{Flags: []string{"--trusted-proxies", "127.0.0.1",
		"--signup-burst", "2", "--signup-rate", "0.001", "--signin-burst", "3", "--signin-rate", "0.001",
		"--session-lifetime", "2h"}})
	a := newAPI(t, srv, newPositions())
	var b [2]byte
	_, _ = rand.Read(b[:])
	client := fmt.Sprintf("198.%d.%d.%d", 18+b[0]%2, b[1], 7)
	from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
	sfx := randomSuffix(6)
	type session struct {
		user
		ExpiresAt string `json:"expires_at"`
	}

	res := a.do(t, request{Method: http.MethodPost, Path: "/users", Header: from(client),
		Body: []byte(`{"name":"alice-` + sfx + `","password":"correct horse"}`)})
	expectStatus(t, res, http.StatusCreated)
	alice := decode[session](t, res)
	if exp := parseTime(t, "expires_at", alice.ExpiresAt); exp.Before(time.Now().Add(119*time.Minute)) || exp.After(time.Now().Add(121*time.Minute)) {
		t.Fatalf("expires_at %s, want in 2 h (--session-lifetime)", alice.ExpiresAt)
	}
	expectStatus(t, a.do(t, request{Method: http.MethodPost, Path: "/users", Header: from(client),
		Body: []byte(`{"name":"bob-` + sfx + `"}`)}), http.StatusCreated)
	limited := a.do(t, request{Method: http.MethodPost, Path: "/users", Header: from(client), Body: []byte(`{"name":"carol-` + sfx + `"}`)})
	expectError(t, limited, http.StatusTooManyRequests, "rate_limited")
	if limited.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}

	signIn := func(password string) response {
		return a.do(t, request{Method: http.MethodPost, Path: "/sessions", Header: from(client),
			Body: []byte(`{"name":"alice-` + sfx + `","password":"` + password + `"}`)})
	}
	expectError(t, signIn("wrong horse"), http.StatusUnauthorized, "invalid_credentials")
	res = signIn("correct horse")
	expectStatus(t, res, http.StatusCreated)
	second := decode[session](t, res)
	res = a.do(t, request{Method: http.MethodPost, Path: "/sessions", Token: second.Token, Header: from(client)})
	expectStatus(t, res, http.StatusCreated)
	renewed := decode[session](t, res)
	expectError(t, a.get(t, second.user, "/me"), http.StatusUnauthorized, "unauthorized")
	// The fourth POST /sessions from the address: over its burst of 3.
	expectError(t, signIn("correct horse"), http.StatusTooManyRequests, "rate_limited")

	expectStatus(t, a.do(t, request{Method: http.MethodDelete, Path: "/sessions/current", Token: renewed.Token}), http.StatusNoContent)
	expectError(t, a.get(t, renewed.user, "/me"), http.StatusUnauthorized, "unauthorized")
	expectStatus(t, a.get(t, alice.user, "/me"), http.StatusOK)
}

// TestSendLimitHoldsAcrossNodes: two nodes sharing PostgreSQL share each
// sender's budget (with per-process buckets, alternating nodes would get
// twice the burst through). It needs the real backends.
func TestSendLimitHoldsAcrossNodes(t *testing.T) {
	if !realBackends() {
		t.Skip("needs TIDINGS_E2E_REAL=1: the embedded backends belong to one process")
	}
	t.Parallel()
	inst := newInstance(t)
	const burst = 6 // lease max(1, 6/20) = 1: the shared bucket is exact
	var apis []*api
	for range 2 {
		s := inst.start(t, serverOptions{Flags: []string{"--data", t.TempDir(), "--send-burst", fmt.Sprint(burst), "--send-rate", "0.01"}})
		apis = append(apis, newAPI(t, s, newPositions()))
	}
	sfx := randomSuffix(6)
	alice, bob := apis[0].register(t, "alice-"+sfx), apis[0].register(t, "bob-"+sfx)
	for i := range burst {
		res := apis[i%2].post(t, alice, "/messages", map[string]string{"to": bob.ID, "text": fmt.Sprint("hi ", i)})
		expectStatus(t, res, http.StatusOK)
	}
	for i := range 2 {
		res := apis[i%2].post(t, alice, "/messages", map[string]string{"to": bob.ID, "text": "one too many"})
		expectError(t, res, http.StatusTooManyRequests, "rate_limited")
	}
}
