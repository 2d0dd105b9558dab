package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHostileClient replays the findings of a hostile client's probe
// (issue 13, points 4 to 8) against the real binary: blank texts, the
// WebSocket token on REST, 405 and 431 answers, error messages in the
// client's terms, and positions and cursors that name the wrong thing.
func TestHostileClient(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	must(t, t.Run("register", func(t *testing.T) {
		w.alice = w.api.register(t, w.name("alice"))
		w.bob = w.api.register(t, w.name("bob"))
		w.carol = w.api.register(t, w.name("carol"))
	}))
	t.Run("blank text is empty_text", w.testBlankText)
	t.Run("subprotocol token only opens /ws", w.testSubprotocolOnlyWS)
	t.Run("405 says Allow", w.testAllow)
	t.Run("header limit is 16 KiB and 431 is JSON", w.testHeaderLimit)
	t.Run("errors speak JSON, not Go", w.testErrorWords)
	t.Run("position of no partition", w.testPositionOfNoPartition)
	t.Run("cursor of another listing", w.testForeignCursors)
}

func (w *world) testBlankText(t *testing.T) {
	for name, text := range map[string]string{
		"em space":              "\u2003",
		"byte order mark":       "\ufeff",
		"line separator":        "\u2028",
		"zero width characters": "\u200b\u200c\u200d\u2060",
		"mongolian separator":   "\u180e",
		"hangul filler":         "\u3164",
		"braille blank":         "\u2800",
		"a mix":                 " \u2003\ufeff\u2028\u200b\u3164\t\n",
	} {
		t.Run(name, func(t *testing.T) {
			body := jsonBody(t, map[string]string{"to": w.bob.ID, "text": text})
			res := w.api.do(t, request{Method: http.MethodPost, Path: "/messages", Token: w.alice.Token, Body: body})
			expectError(t, res, http.StatusBadRequest, "empty_text")
		})
	}
	t.Run("a letter among blanks is sent", func(t *testing.T) {
		w.send(t, w.alice, w.bob, "\u2003a\ufeff", "")
	})
}

func (w *world) testSubprotocolOnlyWS(t *testing.T) {
	for _, e := range []struct{ method, path, body string }{
		{http.MethodGet, "/me", ""},
		{http.MethodGet, "/messages", ""},
		{http.MethodPost, "/messages", `{"to":"` + w.bob.ID + `","text":"hi"}`},
		{http.MethodGet, "/conversations", ""},
		{http.MethodGet, "/users/" + w.bob.ID, ""},
	} {
		t.Run(e.method+" "+e.path, func(t *testing.T) {
			req := request{Method: e.method, Path: e.path, Header: http.Header{
				"Sec-Websocket-Protocol": {wsSubprotocol + ", bearer." + w.alice.Token},
				"Connection":             {"Upgrade"}, "Upgrade": {"websocket"}}}
			if e.body != "" {
				req.Body = []byte(e.body)
			}
			expectError(t, w.api.do(t, req), http.StatusUnauthorized, "unauthorized")
		})
	}
	t.Run("GET /ws takes it", func(t *testing.T) {
		c := wsDial(t, w.srv, w.alice, "", "alice")
		c.ready(t)
	})
}

func (w *world) testAllow(t *testing.T) {
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodPost, "/me", "GET, DELETE"},
		{http.MethodDelete, "/messages", "GET, POST"},
		{http.MethodPost, "/messages/" + unknownID, "GET, PUT, PATCH, DELETE"}, // DELETE deletes since issue 12
		{http.MethodPost, "/conversations", "GET"},
		{http.MethodPost, "/healthz", "GET"},
		{http.MethodPost, "/ws", "GET"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			res := w.api.do(t, request{Method: tc.method, Path: tc.path, Token: w.alice.Token, NoWait: true})
			expectError(t, res, http.StatusMethodNotAllowed, "method_not_allowed")
			if got := res.Header.Values("Allow"); len(got) != 1 || got[0] != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

// hostileHead returns a GET /healthz request head of exactly n bytes.
func hostileHead(n int) string {
	const start = "GET /healthz HTTP/1.1\r\nHost: tidings.test\r\nX-Pad: "
	const end = "\r\n\r\n"
	return start + strings.Repeat("a", n-len(start)-len(end)) + end
}

// hostileRaw writes raw to a new connection to s and reads one response.
func hostileRaw(t *testing.T, s *server, raw string) (status int, contentType string, body []byte) {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(c, raw) }()
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer res.Body.Close()
	body, _ = io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), body
}

func (w *world) testHeaderLimit(t *testing.T) {
	const limit = 16 << 10 // docs/api.md
	t.Run("at the limit", func(t *testing.T) {
		if status, _, body := hostileRaw(t, w.srv, hostileHead(limit)); status != http.StatusOK {
			t.Fatalf("a head of %d bytes: %d %s, want 200", limit, status, body)
		}
	})
	for _, n := range []int{limit + 1, limit + 4096, 64 << 10} {
		t.Run(strconv.Itoa(n)+" bytes", func(t *testing.T) {
			status, ct, body := hostileRaw(t, w.srv, hostileHead(n))
			var e errorBody
			if status != http.StatusRequestHeaderFieldsTooLarge || !strings.HasPrefix(ct, "application/json") ||
				json.Unmarshal(body, &e) != nil || e.Error.Code != "headers_too_large" {
				t.Fatalf("a head of %d bytes: %d %q %s, want 431 with the headers_too_large JSON error", n, status, ct, body)
			}
		})
	}
}

func (w *world) testErrorWords(t *testing.T) {
	for _, tc := range []struct{ name, path, body, code, says string }{
		{"array body", "/messages", `[]`, "invalid_field", "request body must be a JSON object, not an array"},
		{"to is a number", "/messages", `{"to":1,"text":"hi"}`, "invalid_field", `field "to" must be a string, not a number`},
		{"register with an array", "/users", `["x"]`, "invalid_field", "request body must be a JSON object, not an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := w.api.do(t, request{Method: http.MethodPost, Path: tc.path, Token: w.alice.Token, Body: []byte(tc.body), NoWait: true})
			expectError(t, res, http.StatusBadRequest, tc.code)
			var e errorBody
			_ = json.Unmarshal(res.Body, &e)
			if e.Error.Message != tc.says {
				t.Errorf("message %q, want %q", e.Error.Message, tc.says)
			}
		})
	}
}

func (w *world) testPositionOfNoPartition(t *testing.T) {
	for _, pos := range []string{"16-0", "9999-0", "0-0,16-0"} { // the log has 16 partitions
		t.Run(pos, func(t *testing.T) {
			start := time.Now()
			// once: a stale answer is the failure, not a reason to retry.
			res := w.api.once(t, request{Method: http.MethodGet, Path: "/conversations", Token: w.alice.Token,
				Header: http.Header{positionHeader: {pos}}})
			expectError(t, res, http.StatusBadRequest, "invalid_position")
			if took := time.Since(start); took > time.Second {
				t.Errorf("answered after %v; want at once, not after the consistency wait", took)
			}
		})
	}
}

// hostileCursor returns the cursor of the rel=next link of path's first
// page of one item, as u.
func (w *world) hostileCursor(t *testing.T, u user, path string) string {
	t.Helper()
	res := w.api.get(t, u, path+"?limit=1")
	expectStatus(t, res, http.StatusOK)
	m := nextLink.FindStringSubmatch(res.Header.Get("Link"))
	if m == nil {
		t.Fatalf("%v: no rel=next link", res)
	}
	next, err := url.Parse(m[1])
	if err != nil || next.Query().Get("cursor") == "" {
		t.Fatalf("Link %q has no cursor", m[1])
	}
	return next.Query().Get("cursor")
}

func (w *world) testForeignCursors(t *testing.T) {
	for range 2 {
		w.send(t, w.alice, w.bob, "to bob", "")
		w.send(t, w.alice, w.carol, "to carol", "")
	}
	withBob, withCarol := "/conversations/"+w.bob.ID+"/messages", "/conversations/"+w.carol.ID+"/messages"
	convs := w.hostileCursor(t, w.alice, "/conversations")
	hist := w.hostileCursor(t, w.alice, withBob)
	unread := w.hostileCursor(t, w.bob, "/messages")
	for _, tc := range []struct {
		name, path, cursor string
		u                  user
	}{
		{"conversations cursor on /messages", "/messages", convs, w.alice},
		{"conversations cursor on a history", withBob, convs, w.alice},
		{"history cursor of one peer on another", withCarol, hist, w.alice},
		{"history cursor on /conversations", "/conversations", hist, w.alice},
		{"unread cursor on a history", "/conversations/" + w.alice.ID + "/messages", unread, w.bob},
		{"someone else's cursor", "/conversations", convs, w.bob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := w.api.get(t, tc.u, tc.path+"?limit=1&cursor="+tc.cursor)
			expectError(t, res, http.StatusBadRequest, "invalid_cursor")
		})
	}
	t.Run("a cursor pages its own listing", func(t *testing.T) {
		res := w.api.get(t, w.alice, withBob+"?limit=1&cursor="+hist)
		expectStatus(t, res, http.StatusOK)
		if got := decode[[]message](t, res); len(got) != 1 || got[0].To != w.bob.ID {
			t.Fatalf("second page of the history with bob: %v", got)
		}
	})
}
