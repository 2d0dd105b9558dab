package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// harness is the API in process over in-memory embedded stores, with an
// event log that only counts (nothing is projected).
type harness struct {
	t       testing.TB
	api     *httpapi.Server
	cmds    commands.Commands
	tracker *projections.Tracker
}

// newHarness builds the API with cfg; deps, when set, adjusts its
// dependencies before it is built.
func newHarness(t testing.TB, cfg httpapi.Config, deps func(*httpapi.Deps)) *harness {
	t.Helper()
	db, err := embedded.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	views := db.Views()
	cmds, err := commands.New(commands.Deps{Log: &countingLog{}, Accounts: db.Accounts(), SendLog: db.SendLog(), Messages: views})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, cmds: cmds, tracker: projections.NewTracker(nil)}
	d := httpapi.Deps{Commands: cmds, Views: views, Users: db.Accounts(), Tracker: h.tracker,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if deps != nil {
		deps(&d)
	}
	h.api = httpapi.New(cfg, d)
	return h
}

// user registers name and returns its id and token.
func (h *harness) user(name string) (domain.UserID, string) {
	h.t.Helper()
	r, err := h.cmds.RegisterUser.Handle(context.Background(), commands.RegisterUser{Name: name})
	if err != nil {
		h.t.Fatalf("register %s: %v", name, err)
	}
	return r.User.ID, r.Token
}

// do serves one request; a body is sent as application/json.
func (h *harness) do(method, path string, header http.Header, body string) *httptest.ResponseRecorder {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	for k, vs := range header {
		r.Header[k] = vs
	}
	if body != "" && r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.api.ServeHTTP(w, r)
	return w
}

func bearerHeader(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// apiError is the JSON of every error answer.
type apiError struct {
	Error struct {
		Code    domain.Code `json:"code"`
		Message string      `json:"message"`
	} `json:"error"`
}

// expectError fails t unless w is the JSON error of status and code, and
// returns its message.
func expectError(t *testing.T, w *httptest.ResponseRecorder, status int, code domain.Code) string {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d (%s), want %d %s", w.Code, strings.TrimSpace(w.Body.String()), status, code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var e apiError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("body %q is not a JSON error: %v", w.Body, err)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error %+v, want code %s and a message", e.Error, code)
	}
	return e.Error.Message
}
