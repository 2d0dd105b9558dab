package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/domain"
)

// The fuzz targets of what clients send the REST API: request bodies and
// the paging query (whose cursors the embedded views decode). CI runs each
// for a bounded time (.ci/fuzz.sh); `go test` runs their seed corpus.

// fuzzServe serves one request to api and checks what every answer must
// be: never a server error, and an error answer is the JSON error with a
// code the API documents.
func fuzzServe(t *testing.T, api *httpapi.Server, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	if w.Code >= 500 {
		t.Fatalf("%s %s: status %d: %s", r.Method, r.URL, w.Code, w.Body)
	}
	if w.Code >= 400 {
		var e apiError
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s %s: status %d with body %q, not a JSON error", r.Method, r.URL, w.Code, w.Body)
		}
		if e.Error.Code == domain.CodeInternal || e.Error.Code == domain.CodeUnavailable {
			t.Fatalf("%s %s: %+v", r.Method, r.URL, e.Error)
		}
	}
	return w
}

// FuzzRequestBody: any body sent to POST /users, POST /messages or POST
// /sessions is either taken (201, 200 with the message) or refused with a
// 4xx JSON error, never a 5xx or a panic.
func FuzzRequestBody(f *testing.F) {
	h := newHarness(f, httpapi.Config{OpenRegistration: true}, nil)
	_, token := h.user("alice")
	bob, _ := h.user("bob")
	for _, s := range []string{
		`{"to":"` + string(bob) + `","text":"hi","client_msg_id":"c1"}`,
		`{"to":"` + string(bob) + `","text":"hi"}}`, `{"to":"` + string(bob) + `","text":"\u200b"}`,
		`{"to":"01M8B1QCVMF1DRTYN159HXJJ7T","text":"hi"}`, `{"to":1}`, `{"name":"carol"}`, `{"name":"Carol"}`,
		`{"name":null}`, `null`, `[]`, ``, `{`, "{\"text\":\"\xff\"}", `{"to":"a","text":"b","client_msg_id":" "}`,
		`{"name":"dave","password":"12345678"}`, `{"name":"alice","password":"x"}`, `{"name":"a\u0000b","password":"x"}`,
		`{"name":"erin","password":"1234567"}`, `{"password":"12345678"}`,
	} {
		for which := range uint8(3) {
			f.Add(which, []byte(s))
		}
	}
	paths := []string{"/messages", "/users", "/sessions"}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := paths[int(which)%len(paths)]
		r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if path == "/messages" {
			// Only here: an empty POST /sessions with it would renew
			// (and so end) the token.
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := fuzzServe(t, h.api, r)
		if w.Code < 300 && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("POST %s: status %d with body %q", path, w.Code, w.Body)
		}
	})
}

// FuzzListQuery: any query string on the three listings (limit, cursor,
// made-up or sealed for the caller around any store position) is a page
// or a 4xx JSON error (invalid_limit, invalid_cursor), never a 5xx.
func FuzzListQuery(f *testing.F) {
	h := newHarness(f, httpapi.Config{}, nil)
	alice, token := h.user("alice")
	bob, _ := h.user("bob")
	cursor := func(kind domain.CursorKind, peer domain.UserID, pos string) string {
		return "cursor=" + base64.RawURLEncoding.EncodeToString(domain.SealCursor(kind, alice, peer, []byte(pos)))
	}
	for _, q := range []string{
		"", "limit=1", "limit=500", "limit=501", "limit=0", "limit=-1", "limit=1.5", "limit=+5", "cursor=", "cursor=!!",
		"cursor=AAAA", cursor(domain.CursorUnread, "", "\x00\x00\x00\x00"), cursor(domain.CursorUnread, "", "x"),
		cursor(domain.CursorConversations, "", "\xff\xff\xff\xff\xff\xff\xff\xff"), cursor(domain.CursorHistory, bob, "zz"),
		cursor(domain.CursorHistory, bob, strings.Repeat("\xff", 40)) + "&limit=3",
	} {
		for which := range uint8(3) {
			f.Add(which, q)
		}
	}
	paths := []string{"/messages", "/conversations", "/conversations/" + string(bob) + "/messages"}
	f.Fuzz(func(t *testing.T, which uint8, query string) {
		r := httptest.NewRequest(http.MethodGet, paths[int(which)%len(paths)], nil)
		r.URL.RawQuery = query
		r.Header.Set("Authorization", "Bearer "+token)
		fuzzServe(t, h.api, r)
	})
}
