package main

import (
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// world is the state one end-to-end scenario shares between its steps.
type world struct {
	inst  *instance
	srv   *server
	api   *api
	pos   *positions
	model *model
	sfx   string // makes user names unique to this run

	alice, bob, carol user
	zed               user // receives the boundary-case messages
	hello             message
}

func newWorld(t *testing.T) *world {
	w := &world{inst: newInstance(t), pos: newPositions(), model: newModel(), sfx: randomSuffix(6)}
	w.start(t, serverOptions{})
	return w
}

// start starts a server of the world's instance and talks to it.
func (w *world) start(t *testing.T, o serverOptions) {
	t.Helper()
	w.connect(t, w.inst.start(t, o))
}

// connect talks to srv from now on; the model learns what its inbox reads
// mark delivered.
func (w *world) connect(t *testing.T, srv *server) {
	t.Helper()
	w.srv = srv
	w.api = newAPI(t, srv, w.pos)
	w.api.model = w.model
}

func (w *world) name(base string) string { return base + "-" + w.sfx }

func (w *world) users() []user { return []user{w.alice, w.bob, w.carol, w.zed} }

// send sends text from one user to another, checks the 200 answer field by
// field and records the message in the model.
func (w *world) send(t *testing.T, from, to user, text, clientMsgID string) message {
	t.Helper()
	body := map[string]string{"to": to.ID, "text": text}
	if clientMsgID != "" {
		body["client_msg_id"] = clientMsgID
	}
	res := w.api.post(t, from, "/messages", body)
	expectStatus(t, res, http.StatusOK)
	checkMessageShape(t, res.Body)
	m := decode[message](t, res)
	if !validID(m.ID) || m.From != from.ID || m.To != to.ID || m.Text != text || m.Status != "sent" ||
		m.DeliveredAt != nil || m.ReadAt != nil || !within(t, "sent_at", m.SentAt, time.Minute) {
		t.Fatalf("POST /messages %s -> %s %q = %v, want a new message with status sent", from.Name, to.Name, text, m)
	}
	if clientMsgID == "" && m.ClientMsgID != nil || clientMsgID != "" && (m.ClientMsgID == nil || *m.ClientMsgID != clientMsgID) {
		t.Fatalf("POST /messages: client_msg_id %v, want %q", m.ClientMsgID, clientMsgID)
	}
	if !positionFormat.MatchString(res.Header.Get(positionHeader)) {
		t.Fatalf("POST /messages: %s = %q, want <partition>-<offset>", positionHeader, res.Header.Get(positionHeader))
	}
	w.model.put(m)
	return m
}

// markRead marks msg read as u with method (PATCH or PUT), checks the 200
// answer and records it.
func (w *world) markRead(t *testing.T, u user, method string, msg message) message {
	t.Helper()
	var body []byte
	if method == http.MethodPut {
		body = []byte(`{"status":"read"}`)
	}
	res := w.api.do(t, request{Method: method, Path: "/messages/" + msg.ID, Token: u.Token, Body: body})
	expectStatus(t, res, http.StatusOK)
	checkMessageShape(t, res.Body)
	got := decode[message](t, res)
	if prev, _ := w.model.get(msg.ID); prev.Status != "read" && !positionFormat.MatchString(res.Header.Get(positionHeader)) {
		t.Errorf("%s /messages/%s marked it read with %s = %q, want <partition>-<offset>",
			method, msg.ID, positionHeader, res.Header.Get(positionHeader))
	}
	if got.ID != msg.ID || got.From != msg.From || got.To != msg.To || got.Text != msg.Text || got.SentAt != msg.SentAt ||
		got.Status != "read" || got.ReadAt == nil || !within(t, "read_at", *got.ReadAt, time.Minute) {
		t.Fatalf("%s /messages/%s = %v, want it read", method, msg.ID, got)
	}
	w.model.put(got)
	return got
}

func must(t *testing.T, ok bool) {
	t.Helper()
	if !ok {
		t.FailNow()
	}
}

// TestEndToEnd walks every endpoint and error of the core slice against the
// real binary, then crashes it and checks that nothing was lost.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	t.Run("rate limit", func(t *testing.T) {
		t.Parallel()
		testRateLimit(t)
	})
	t.Run("walkthrough", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		must(t, t.Run("register", w.testRegister))
		t.Run("unauthorized", w.testUnauthorized)
		t.Run("find users", w.testFindUsers)
		t.Run("empty inbox is 204", func(t *testing.T) {
			res := w.api.get(t, w.carol, "/messages")
			if res.Status != http.StatusNoContent || len(res.Body) != 0 {
				t.Errorf("%v, want 204 and no body", res)
			}
		})
		must(t, t.Run("send", w.testSend))
		t.Run("read your writes", w.testReadYourWrites)
		t.Run("send validation", w.testSendValidation)
		t.Run("idempotent retry", w.testIdempotentRetry)
		t.Run("unread pagination", w.testUnreadPagination)
		t.Run("privacy", w.testPrivacy)
		t.Run("mark read", w.testMarkRead)
		t.Run("repeated mark read without position", w.testRepeatMarkRead)
		t.Run("conversations and history", w.testConversations)
		t.Run("health and metrics", w.testHealthAndMetrics)
		t.Run("crash and restart", w.testCrashRestart)
	})
}

func (w *world) testRegister(t *testing.T) {
	w.alice = w.api.register(t, w.name("alice"))
	w.bob = w.api.register(t, w.name("bob"))
	w.carol = w.api.register(t, w.name("carol"))
	w.zed = w.api.register(t, w.name("zed"))
	ids := map[string]bool{}
	for _, u := range w.users() {
		ids[u.ID] = true
	}
	if len(ids) != 4 {
		t.Fatalf("user ids are not unique: %v", w.users())
	}

	cases := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"name taken", "", `{"name":"` + w.alice.Name + `"}`, http.StatusConflict, "name_taken"},
		{"upper case", "", `{"name":"Alice-` + w.sfx + `"}`, http.StatusBadRequest, "invalid_name"},
		{"leading dash", "", `{"name":"-alice"}`, http.StatusBadRequest, "invalid_name"},
		{"space", "", `{"name":"al ice"}`, http.StatusBadRequest, "invalid_name"},
		{"non-ASCII", "", `{"name":"élise"}`, http.StatusBadRequest, "invalid_name"},
		{"33 characters", "", `{"name":"` + strings.Repeat("a", 33) + `"}`, http.StatusBadRequest, "invalid_name"},
		{"missing name", "", `{}`, http.StatusBadRequest, "missing_field"},
		{"name is a number", "", `{"name":7}`, http.StatusBadRequest, "invalid_field"},
		{"unknown field", "", `{"name":"x` + w.sfx + `","admin":true}`, http.StatusBadRequest, "unknown_field"},
		{"malformed JSON", "", `{"name":`, http.StatusBadRequest, "malformed_json"},
		{"text/plain", "text/plain", `{"name":"y` + w.sfx + `"}`, http.StatusUnsupportedMediaType, "unsupported_media_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := w.api.do(t, request{Method: http.MethodPost, Path: "/users", Body: []byte(tc.body), ContentType: tc.contentType})
			expectError(t, res, tc.status, tc.code)
		})
	}
}

func (w *world) testSend(t *testing.T) {
	w.hello = w.send(t, w.alice, w.bob, "hello bob", "a-1")
	w.send(t, w.alice, w.bob, "second, without client_msg_id", "")
	w.send(t, w.bob, w.alice, "hi alice", "b-1")
	w.send(t, w.alice, w.carol, "hi carol ✉️ — ünïcödé", "")
	w.send(t, w.carol, w.bob, "carol to bob", "")
	// Positions name the partition and offset the event went to.
	res := w.api.post(t, w.carol, "/messages", map[string]string{"to": w.alice.ID, "text": "carol to alice"})
	expectStatus(t, res, http.StatusOK)
	w.model.put(decode[message](t, res))
	if !positionFormat.MatchString(res.Header.Get(positionHeader)) {
		t.Errorf("%s = %q", positionHeader, res.Header.Get(positionHeader))
	}
}

// testReadYourWrites reads a message right after sending it, naming only
// that send's position: the server must wait for its views.
func (w *world) testReadYourWrites(t *testing.T) {
	for i := range 5 {
		res := w.api.post(t, w.alice, "/messages", map[string]string{"to": w.bob.ID, "text": "ryw " + string(rune('a'+i))})
		expectStatus(t, res, http.StatusOK)
		sent := decode[message](t, res)
		w.model.put(sent)
		pos := res.Header.Get(positionHeader)
		for _, reader := range []user{w.bob, w.alice} {
			got := w.api.do(t, request{Method: http.MethodGet, Path: "/messages/" + sent.ID, Token: reader.Token,
				Header: http.Header{positionHeader: {pos}}})
			if got.Status != http.StatusOK || got.Header.Get("X-Tidings-Stale") != "" {
				t.Fatalf("GET right after the send with %s: %s: %v (stale %q), want 200", positionHeader, pos, got, got.Header.Get("X-Tidings-Stale"))
			}
			if m := decode[message](t, got); !reflect.DeepEqual(m, sent) {
				t.Errorf("%s reads %v, want %v", reader.Name, m, sent)
			}
		}
	}
	res := w.api.do(t, request{Method: http.MethodGet, Path: "/messages", Token: w.bob.Token,
		Header: http.Header{positionHeader: {"banana"}}})
	expectError(t, res, http.StatusBadRequest, "invalid_position")
}

func (w *world) testIdempotentRetry(t *testing.T) {
	for range 3 {
		res := w.api.post(t, w.alice, "/messages", map[string]string{"to": w.bob.ID, "text": "hello bob", "client_msg_id": "a-1"})
		expectStatus(t, res, http.StatusOK)
		if got := decode[message](t, res); got.ID != w.hello.ID || got.SentAt != w.hello.SentAt || got.Text != w.hello.Text {
			t.Errorf("retry of client_msg_id a-1 = %v, want id %s sent at %s", got, w.hello.ID, w.hello.SentAt)
		}
	}
	conflicts := []struct{ name, to, text string }{
		{"other text", w.bob.ID, "hello bob, again"},
		{"other recipient", w.carol.ID, "hello bob"},
	}
	for _, c := range conflicts {
		t.Run(c.name, func(t *testing.T) {
			res := w.api.post(t, w.alice, "/messages", map[string]string{"to": c.to, "text": c.text, "client_msg_id": "a-1"})
			expectError(t, res, http.StatusConflict, "idempotency_conflict")
		})
	}
	// Keys belong to their sender: bob may use "a-1" too.
	if m := w.send(t, w.bob, w.alice, "hello bob", "a-1"); m.ID == w.hello.ID {
		t.Errorf("bob's a-1 got alice's message id %s", m.ID)
	}
	// Exactly one "hello bob" reached bob.
	unread, _ := collect[message](t, w.api, w.bob, "/messages")
	n := 0
	for _, m := range unread {
		if m.Text == "hello bob" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("bob has %d unread \"hello bob\" messages, want 1", n)
	}
}

func (w *world) testUnreadPagination(t *testing.T) {
	for i := range 7 {
		w.send(t, w.alice, w.bob, "page "+string(rune('0'+i)), "")
	}
	got, pages := collect[message](t, w.api, w.bob, "/messages?limit=3")
	// The fetch marked every page delivered; the model learnt it from the
	// pages, and the pages show it.
	want := w.model.expect(t, w.bob).Unread
	if wantPages := (len(want) + 2) / 3; pages != wantPages {
		t.Errorf("limit=3 over %d messages: %d pages, want %d", len(want), pages, wantPages)
	}
	diffList(t, "GET /messages?limit=3, every page", got, want)
	seen := map[string]bool{}
	for i, m := range got {
		if seen[m.ID] {
			t.Errorf("message %s appears twice", m.ID)
		}
		seen[m.ID] = true
		if i > 0 && m.sentAt(t).Before(got[i-1].sentAt(t)) {
			t.Errorf("unread not oldest first: %s before %s", got[i-1].SentAt, m.SentAt)
		}
	}

	first := w.api.get(t, w.bob, "/messages?limit=3")
	expectStatus(t, first, http.StatusOK)
	link := first.Header.Get("Link")
	if m := nextLink.FindStringSubmatch(link); m == nil || !strings.HasPrefix(m[1], "/messages?") ||
		!strings.Contains(m[1], "limit=3") || !strings.Contains(m[1], "cursor=") {
		t.Errorf("Link %q, want </messages?...limit=3...cursor=...>; rel=\"next\"", link)
	}

	for _, path := range []string{"/messages", "/messages?limit=500", "/messages?limit=" + strconv.Itoa(len(want))} {
		res := w.api.get(t, w.bob, path)
		expectStatus(t, res, http.StatusOK)
		if res.Header.Get("Link") != "" || len(decode[[]message](t, res)) != len(want) {
			t.Errorf("%v: want all %d messages and no Link", res, len(want))
		}
	}

	for _, limit := range []string{"0", "501", "-1", "abc", "1.5", "1e2"} {
		t.Run("limit="+limit, func(t *testing.T) {
			expectError(t, w.api.get(t, w.bob, "/messages?limit="+limit), http.StatusBadRequest, "invalid_limit")
		})
	}
	w.testBadCursors(t, w.bob, "/messages")
}

func (w *world) testMarkRead(t *testing.T) {
	read := w.markRead(t, w.bob, http.MethodPatch, w.hello)
	again := w.api.patch(t, w.bob, "/messages/"+w.hello.ID)
	expectStatus(t, again, http.StatusOK)
	if got := decode[message](t, again); !reflect.DeepEqual(got, read) {
		t.Errorf("second PATCH = %v, want unchanged %v", got, read)
	}

	var second message
	for _, m := range w.model.all() {
		if m.Text == "second, without client_msg_id" {
			second = m
		}
	}
	readPut := w.markRead(t, w.bob, http.MethodPut, second)
	againPut := w.api.put(t, w.bob, "/messages/"+second.ID, `{"status":"read"}`)
	expectStatus(t, againPut, http.StatusOK)
	if got := decode[message](t, againPut); !reflect.DeepEqual(got, readPut) {
		t.Errorf("second PUT = %v, want unchanged %v", got, readPut)
	}

	// Carol reads alice's greeting; alice reads one of carol's.
	for _, m := range w.model.all() {
		if m.From == w.alice.ID && m.To == w.carol.ID || m.From == w.carol.ID && m.To == w.alice.ID {
			reader := w.carol
			if m.To == w.alice.ID {
				reader = w.alice
			}
			w.markRead(t, reader, http.MethodPatch, m)
		}
	}

	// The sender sees the receipt with the same read_at.
	res := w.api.get(t, w.alice, "/messages/"+w.hello.ID)
	expectStatus(t, res, http.StatusOK)
	if got := decode[message](t, res); got.Status != "read" || got.ReadAt == nil || *got.ReadAt != *read.ReadAt {
		t.Errorf("alice sees %v, want status read, read_at %s", got, *read.ReadAt)
	}
	unread, _ := collect[message](t, w.api, w.bob, "/messages")
	for _, m := range unread {
		if m.ID == w.hello.ID || m.ID == second.ID {
			t.Errorf("read message %s is still unread", m.ID)
		}
	}
}

// testRepeatMarkRead marks messages read twice in a row, the second time
// without X-Tidings-Position, as a client retrying a PATCH or PUT whose
// answer it lost would. The repeat must answer the message unchanged, with
// the read_at of the first mark.
func (w *world) testRepeatMarkRead(t *testing.T) {
	var msgs []message
	for i := range 40 {
		msgs = append(msgs, w.send(t, w.carol, w.zed, "read twice "+strconv.Itoa(i), ""))
	}
	differ := 0
	for i, m := range msgs {
		method := http.MethodPatch
		if i%2 == 1 {
			method = http.MethodPut
		}
		first := w.markRead(t, w.zed, method, m)
		res := w.api.do(t, request{Method: method, Path: "/messages/" + m.ID, Token: w.zed.Token, NoWait: true})
		expectStatus(t, res, http.StatusOK)
		if again := decode[message](t, res); !reflect.DeepEqual(again, first) {
			differ++
			t.Errorf("%s /messages/%s repeated at once: read_at %v (%s %q), want unchanged %v",
				method, m.ID, *again.ReadAt, positionHeader, res.Header.Get(positionHeader), *first.ReadAt)
		}
	}
	if differ > 0 {
		t.Errorf("%d of %d immediate repeats answered another read_at than the first mark", differ, len(msgs))
	}
}

func (w *world) testConversations(t *testing.T) {
	snaps := checkViews(t, w.api, w.model, w.users()...)

	// Spelled out for alice: bob and carol, newest first, with both
	// directions in the history.
	convs := snaps[w.alice.Name].Conversations
	peers := map[string]bool{}
	for i, c := range convs {
		peers[c.Peer] = true
		if i > 0 && c.LastMessage.sentAt(t).After(convs[i-1].LastMessage.sentAt(t)) {
			t.Errorf("conversations not newest first: %v", convs)
		}
	}
	if len(convs) != 3 || !peers[w.bob.ID] || !peers[w.carol.ID] || !peers[w.zed.ID] {
		t.Errorf("alice's conversations %v, want bob, carol and zed", convs)
	}
	for _, c := range convs {
		if c.Peer == w.carol.ID && c.UnreadCount != 0 {
			t.Errorf("alice-carol unread_count %d, want 0 (alice read carol's message)", c.UnreadCount)
		}
	}
	var fromAlice, fromBob bool
	for _, m := range snaps[w.alice.Name].History[w.bob.ID] {
		fromAlice = fromAlice || m.From == w.alice.ID
		fromBob = fromBob || m.From == w.bob.ID
	}
	if !fromAlice || !fromBob {
		t.Errorf("alice-bob history lacks a direction (from alice %v, from bob %v)", fromAlice, fromBob)
	}
	fromAliceUnread := 0
	for _, m := range snaps[w.bob.Name].Unread {
		if m.From == w.alice.ID {
			fromAliceUnread++
		}
	}
	for _, c := range snaps[w.bob.Name].Conversations {
		if c.Peer == w.alice.ID && c.UnreadCount != fromAliceUnread {
			t.Errorf("bob-alice unread_count %d, want %d (bob's unread messages from alice)", c.UnreadCount, fromAliceUnread)
		}
	}

	history := "/conversations/" + w.bob.ID + "/messages"
	for _, path := range []string{"/conversations?limit=0", history + "?limit=501"} {
		expectError(t, w.api.get(t, w.alice, path), http.StatusBadRequest, "invalid_limit")
	}
	t.Run("history cursors", func(t *testing.T) { w.testBadCursors(t, w.alice, history) })
	t.Run("conversation cursors", func(t *testing.T) { w.testBadCursors(t, w.alice, "/conversations") })
}

// testCrashRestart kills the server with SIGKILL, restarts it on the same
// data and checks that every account, message, read receipt and
// idempotency key survived.
func (w *world) testCrashRestart(t *testing.T) {
	before := checkViews(t, w.api, w.model, w.users()...)
	history := "/conversations/" + w.bob.ID + "/messages?limit=3"
	first := w.api.get(t, w.alice, history)
	expectStatus(t, first, http.StatusOK)
	link := nextLink.FindStringSubmatch(first.Header.Get("Link"))
	if link == nil {
		t.Fatalf("%v: no rel=next Link; alice and bob have more than 3 messages", first)
	}
	secondPage := w.api.get(t, w.alice, link[1])
	expectStatus(t, secondPage, http.StatusOK)

	w.srv.kill()
	w.start(t, serverOptions{})

	// A cursor handed out before the crash goes on where it left off.
	if res := w.api.get(t, w.alice, link[1]); res.Status != http.StatusOK || string(res.Body) != string(secondPage.Body) ||
		res.Header.Get("Link") != secondPage.Header.Get("Link") {
		t.Errorf("cursor from before the crash: %v, Link %q\nwant %v, Link %q",
			res, res.Header.Get("Link"), secondPage, secondPage.Header.Get("Link"))
	}

	for _, u := range w.users() {
		expectStatus(t, w.api.get(t, u, "/conversations"), http.StatusOK) // the token still works
	}
	res := w.api.post(t, user{}, "/users", map[string]string{"name": w.alice.Name})
	expectError(t, res, http.StatusConflict, "name_taken")

	after := checkViews(t, w.api, w.model, w.users()...)
	for _, u := range w.users() {
		compareSnapshots(t, u.Name+" after the restart", after[u.Name], before[u.Name])
	}

	// An old client_msg_id still maps to its message, and the retry adds
	// nothing: the views stay as they were.
	res = w.api.post(t, w.alice, "/messages", map[string]string{"to": w.bob.ID, "text": "hello bob", "client_msg_id": "a-1"})
	expectStatus(t, res, http.StatusOK)
	if got := decode[message](t, res); got.ID != w.hello.ID || got.SentAt != w.hello.SentAt {
		t.Errorf("retry of a-1 after the restart = %v, want id %s sent at %s", got, w.hello.ID, w.hello.SentAt)
	}
	res = w.api.post(t, w.alice, "/messages", map[string]string{"to": w.bob.ID, "text": "other", "client_msg_id": "a-1"})
	expectError(t, res, http.StatusConflict, "idempotency_conflict")
	checkViews(t, w.api, w.model, w.users()...)

	// The restarted server goes on: a new message, then bob reads all.
	w.send(t, w.alice, w.bob, "after the restart", "a-2")
	unread, _ := collect[message](t, w.api, w.bob, "/messages")
	if len(unread) == 0 || unread[len(unread)-1].Text != "after the restart" {
		t.Errorf("bob's unread after the restart ends with %v, want the new message last", unread)
	}
	for _, m := range unread {
		w.markRead(t, w.bob, http.MethodPatch, m)
	}
	res = w.api.get(t, w.bob, "/messages")
	if res.Status != http.StatusNoContent {
		t.Errorf("%v, want 204 once bob read everything", res)
	}
	checkViews(t, w.api, w.model, w.users()...)
	if !slices.ContainsFunc(w.model.all(), func(m message) bool { return m.Text == "after the restart" && m.Status == "read" }) {
		t.Errorf("the new message was not marked read")
	}
}

func (w *world) testFindUsers(t *testing.T) {
	type profile struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		CreatedAt string `json:"created_at"`
	}
	for _, path := range []string{"/users?name=" + w.bob.Name, "/users/" + w.bob.ID} {
		res := w.api.get(t, w.alice, path)
		expectStatus(t, res, http.StatusOK)
		if p := decode[profile](t, res); p.ID != w.bob.ID || p.Name != w.bob.Name || p.CreatedAt == "" {
			t.Errorf("GET %s = %+v, want bob's id and name", path, p)
		}
		if strings.Contains(string(res.Body), "token") {
			t.Errorf("GET %s leaks a token field: %s", path, res.Body)
		}
		expectError(t, w.api.get(t, user{}, path), http.StatusUnauthorized, "unauthorized")
	}
	for _, path := range []string{"/users?name=nobody-" + w.sfx, "/users?name=NOT%20A%20NAME", "/users/01M8B1QCVA63ES9FVWWAQTKA3Q", "/users/not-an-id"} {
		expectError(t, w.api.get(t, w.alice, path), http.StatusNotFound, "not_found")
	}
	expectError(t, w.api.get(t, w.alice, "/users"), http.StatusBadRequest, "missing_field")
}
