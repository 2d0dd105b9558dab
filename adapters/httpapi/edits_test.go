package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// projectingLog applies every event to the views as it is appended, so
// the API's reads see each command's effect at once.
type projectingLog struct {
	mu    sync.Mutex
	views projections.Store
	n     int64
}

func (l *projectingLog) Append(ctx context.Context, ev domain.Event) (domain.Position, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	pos := domain.Position{Offset: l.n}
	for _, u := range projections.Parties(ev) {
		if err := projections.ApplyFor(ctx, l.views, ev, u, pos); err != nil {
			return domain.Position{}, err
		}
	}
	return pos, nil
}

// newProjectingHarness is newHarness with a log that projects and a clock
// the test moves.
func newProjectingHarness(t *testing.T, now *time.Time) *harness {
	t.Helper()
	db, err := embedded.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	views := db.Views()
	cmds, err := commands.New(commands.Deps{Log: &projectingLog{views: views}, Accounts: db.Accounts(), SendLog: db.SendLog(),
		Messages: views, Clock: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, cmds: cmds, tracker: projections.NewTracker(nil)}
	h.api = httpapi.New(httpapi.Config{}, httpapi.Deps{Commands: cmds, Views: views, Users: db.Accounts(), Tracker: h.tracker,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return h
}

type editedJSON struct {
	ID        string  `json:"id"`
	Text      string  `json:"text"`
	Status    string  `json:"status"`
	Version   int     `json:"version"`
	Edited    bool    `json:"edited"`
	EditedAt  *string `json:"edited_at"`
	Deleted   bool    `json:"deleted"`
	DeletedAt *string `json:"deleted_at"`
}

func decodeInto[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

// TestEditDeleteHideOverHTTP walks the edit and delete endpoints: an edit
// by the sender shows everywhere with its versions, the recipient's PATCH
// still marks read, only the sender edits or deletes, a tombstone keeps no
// text, and delete for me hides for one party only.
func TestEditDeleteHideOverHTTP(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	h := newProjectingHarness(t, &now)
	alice, aliceTok := h.user("alice")
	bob, bobTok := h.user("bob")
	_, carolTok := h.user("carol")
	asAlice, asBob, asCarol := bearerHeader(aliceTok), bearerHeader(bobTok), bearerHeader(carolTok)
	send := func(text string) string {
		t.Helper()
		w := h.do(http.MethodPost, "/messages", asAlice, `{"to":"`+string(bob)+`","text":"`+text+`"}`)
		if w.Code != http.StatusOK {
			t.Fatalf("send: %d %s", w.Code, w.Body)
		}
		return decodeInto[editedJSON](t, w.Body.String()).ID
	}
	id := send("helo bob")
	path := "/messages/" + id
	if w := h.do(http.MethodGet, path, asBob, ""); strings.Contains(w.Body.String(), `"edited"`) || strings.Contains(w.Body.String(), `"version"`) {
		t.Fatalf("a plain message shows edit fields: %s", w.Body)
	}

	// Only the sender edits; the recipient and a stranger get 404.
	for _, auth := range []http.Header{asBob, asCarol} {
		expectError(t, h.do(http.MethodPatch, path, auth, `{"text":"hacked"}`), http.StatusNotFound, domain.CodeNotFound)
	}
	expectError(t, h.do(http.MethodPatch, path, asAlice, `{"text":"x","status":"read"}`), http.StatusBadRequest, domain.CodeInvalidField)
	expectError(t, h.do(http.MethodPatch, path, asAlice, `{"text":"   "}`), http.StatusBadRequest, domain.CodeEmptyText)
	expectError(t, h.do(http.MethodPatch, path, asAlice, `{"text":7}`), http.StatusBadRequest, domain.CodeInvalidField)
	now = now.Add(time.Minute)
	w := h.do(http.MethodPatch, path, asAlice, `{"text":"hello bob"}`)
	if w.Code != http.StatusOK || w.Header().Get(httpapi.PositionHeader) == "" {
		t.Fatalf("edit: %d %s", w.Code, w.Body)
	}
	if m := decodeInto[editedJSON](t, w.Body.String()); m.Text != "hello bob" || m.Version != 2 || !m.Edited || m.EditedAt == nil {
		t.Fatalf("edit answered %s", w.Body)
	}
	w = h.do(http.MethodPut, path, asAlice, `{"text":"hello, bob"}`)
	if m := decodeInto[editedJSON](t, w.Body.String()); w.Code != http.StatusOK || m.Version != 3 {
		t.Fatalf("second edit (PUT): %d %s", w.Code, w.Body)
	}
	// The recipient sees the latest text, marked; PATCH with a status body
	// (or none) still marks read.
	for _, p := range []string{path, "/conversations/" + string(alice) + "/messages", "/messages"} {
		if b := h.do(http.MethodGet, p, asBob, "").Body.String(); !strings.Contains(b, `"text":"hello, bob","client_msg_id":null`) || !strings.Contains(b, `"version":3,"edited":true`) {
			t.Fatalf("GET %s as bob: %s", p, b)
		}
	}
	w = h.do(http.MethodPatch, path, asBob, `{"status":"read"}`)
	if m := decodeInto[editedJSON](t, w.Body.String()); w.Code != http.StatusOK || m.Status != "read" || m.Text != "hello, bob" {
		t.Fatalf("mark read of an edited message: %d %s", w.Code, w.Body)
	}
	// Versions, for both parties only.
	for _, auth := range []http.Header{asAlice, asBob} {
		w := h.do(http.MethodGet, path+"/versions", auth, "")
		vs := decodeInto[[]struct {
			Version int    `json:"version"`
			Text    string `json:"text"`
			At      string `json:"at"`
		}](t, w.Body.String())
		if w.Code != http.StatusOK || len(vs) != 3 || vs[0].Text != "helo bob" || vs[1].Text != "hello bob" || vs[2].Version != 3 || vs[2].At == "" {
			t.Fatalf("versions: %d %s", w.Code, w.Body)
		}
	}
	expectError(t, h.do(http.MethodGet, path+"/versions", asCarol, ""), http.StatusNotFound, domain.CodeNotFound)

	// The edit window closes.
	now = now.Add(commands.EditWindow)
	expectError(t, h.do(http.MethodPatch, path, asAlice, `{"text":"too late"}`), http.StatusConflict, domain.CodeEditWindowClosed)

	// Delete for everyone: the sender only; a tombstone without text.
	expectError(t, h.do(http.MethodDelete, path, asAlice, ""), http.StatusBadRequest, domain.CodeMissingField)
	expectError(t, h.do(http.MethodDelete, path+"?for=all", asAlice, ""), http.StatusBadRequest, domain.CodeInvalidField)
	expectError(t, h.do(http.MethodDelete, path+"?for=everyone", asBob, ""), http.StatusNotFound, domain.CodeNotFound)
	w = h.do(http.MethodDelete, path+"?for=everyone", asAlice, "")
	if m := decodeInto[editedJSON](t, w.Body.String()); w.Code != http.StatusOK || !m.Deleted || m.Text != "" || m.DeletedAt == nil || m.Edited {
		t.Fatalf("delete for everyone: %d %s", w.Code, w.Body)
	}
	for _, auth := range []http.Header{asAlice, asBob} {
		for _, p := range []string{path, "/conversations", path + "/versions"} {
			if b := h.do(http.MethodGet, p, auth, "").Body.String(); strings.Contains(b, "bob\"") || strings.Contains(b, "hello") {
				t.Fatalf("GET %s still shows the deleted text: %s", p, b)
			}
		}
	}
	expectError(t, h.do(http.MethodPatch, path, asAlice, `{"text":"back"}`), http.StatusConflict, domain.CodeMessageDeleted)

	// The delete window closes, for another message.
	old := send("old news")
	now = now.Add(commands.DeleteWindow + time.Second)
	expectError(t, h.do(http.MethodDelete, "/messages/"+old+"?for=everyone", asAlice, ""), http.StatusConflict, domain.CodeDeleteWindowClosed)

	// Delete for me: bob hides it; alice still has it.
	expectError(t, h.do(http.MethodDelete, "/messages/"+old+"?for=me", asCarol, ""), http.StatusNotFound, domain.CodeNotFound)
	if w := h.do(http.MethodDelete, "/messages/"+old+"?for=me", asBob, ""); w.Code != http.StatusNoContent || w.Header().Get(httpapi.PositionHeader) == "" {
		t.Fatalf("delete for me: %d %s", w.Code, w.Body)
	}
	expectError(t, h.do(http.MethodGet, "/messages/"+old, asBob, ""), http.StatusNotFound, domain.CodeNotFound)
	expectError(t, h.do(http.MethodDelete, "/messages/"+old+"?for=me", asBob, ""), http.StatusNotFound, domain.CodeNotFound)
	if b := h.do(http.MethodGet, "/conversations/"+string(alice)+"/messages", asBob, "").Body.String(); strings.Contains(b, old) {
		t.Fatalf("bob's history still shows the message he deleted for himself: %s", b)
	}
	if w := h.do(http.MethodGet, "/messages/"+old, asAlice, ""); w.Code != http.StatusOK {
		t.Fatalf("alice lost the message bob deleted for himself: %d %s", w.Code, w.Body)
	}
}

// TestReplyQuotesTheVersionItAnswered: a reply shows the text of the
// version it answered, also after the quoted message is edited; a
// tombstone once it is deleted for everyone; "unavailable" to a reader who
// deleted it for themself; and reply_to must name a message of the
// conversation the sender sees.
func TestReplyQuotesTheVersionItAnswered(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	h := newProjectingHarness(t, &now)
	alice, aliceTok := h.user("alice")
	bob, bobTok := h.user("bob")
	carol, carolTok := h.user("carol")
	asAlice, asBob := bearerHeader(aliceTok), bearerHeader(bobTok)
	send := func(auth http.Header, to domain.UserID, text, extra string) *httptest.ResponseRecorder {
		t.Helper()
		return h.do(http.MethodPost, "/messages", auth, `{"to":"`+string(to)+`","text":"`+text+`"`+extra+`}`)
	}
	idOf := func(w *httptest.ResponseRecorder) string {
		t.Helper()
		if w.Code != http.StatusOK {
			t.Fatalf("send: %d %s", w.Code, w.Body)
		}
		return decodeInto[editedJSON](t, w.Body.String()).ID
	}
	q := idOf(send(asAlice, bob, "lunch at noon?", ""))
	stranger := idOf(send(bearerHeader(carolTok), alice, "hi alice", ""))
	_ = carol
	for _, bad := range []string{stranger, "nope", "", string(domain.NewID(now))} {
		expectError(t, send(asBob, alice, "yes", `,"reply_to":"`+bad+`"`), http.StatusBadRequest, domain.CodeInvalidReplyTo)
	}
	reply := idOf(send(asBob, alice, "yes!", `,"reply_to":"`+q+`"`))
	quote := func(auth http.Header) string {
		t.Helper()
		b := h.do(http.MethodGet, "/messages/"+reply, auth, "").Body.String()
		i := strings.Index(b, `"reply_to":`)
		if i < 0 {
			t.Fatalf("the reply has no reply_to: %s", b)
		}
		return strings.TrimSpace(b[i:])
	}
	want := `"reply_to":{"id":"` + q + `","version":1,"text":"lunch at noon?"}}`
	for _, auth := range []http.Header{asAlice, asBob} {
		if got := quote(auth); got != want {
			t.Fatalf("quote %s, want %s", got, want)
		}
	}
	// The quoted message is edited: the reply still quotes what it answered.
	if w := h.do(http.MethodPatch, "/messages/"+q, asAlice, `{"text":"lunch at one?"}`); w.Code != http.StatusOK {
		t.Fatalf("edit: %d %s", w.Code, w.Body)
	}
	if got := quote(asBob); got != want {
		t.Fatalf("quote after an edit of the quoted message: %s, want %s", got, want)
	}
	if b := h.do(http.MethodGet, "/conversations/"+string(alice)+"/messages", asBob, "").Body.String(); !strings.Contains(b, want[:len(want)-1]) {
		t.Fatalf("history does not quote: %s", b)
	}
	// A reply to the edited message answers version 2.
	reply2 := idOf(send(asBob, alice, "one is fine", `,"reply_to":"`+q+`"`))
	if b := h.do(http.MethodGet, "/messages/"+reply2, asAlice, "").Body.String(); !strings.Contains(b, `"version":2,"text":"lunch at one?"}`) {
		t.Fatalf("reply to version 2: %s", b)
	}
	// Bob deletes the quoted message for himself; alice deletes it for everyone.
	if w := h.do(http.MethodDelete, "/messages/"+q+"?for=me", asBob, ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete for me: %d %s", w.Code, w.Body)
	}
	if got := quote(asBob); !strings.Contains(got, `"unavailable":true`) || strings.Contains(got, "lunch") {
		t.Fatalf("quote of a message bob hid: %s", got)
	}
	if w := h.do(http.MethodDelete, "/messages/"+q+"?for=everyone", asAlice, ""); w.Code != http.StatusOK {
		t.Fatalf("delete for everyone: %d %s", w.Code, w.Body)
	}
	if got := quote(asAlice); got != `"reply_to":{"id":"`+q+`","version":1,"deleted":true}}` {
		t.Fatalf("quote of a deleted message: %s", got)
	}
	expectError(t, send(asBob, alice, "too late", `,"reply_to":"`+q+`"`), http.StatusBadRequest, domain.CodeInvalidReplyTo)
}

// TestReactionsOverHTTP: PUT and DELETE /messages/{id}/reaction, one per
// party, shown with the version answered and stale after an edit.
func TestReactionsOverHTTP(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	h := newProjectingHarness(t, &now)
	alice, aliceTok := h.user("alice")
	bob, bobTok := h.user("bob")
	_, carolTok := h.user("carol")
	asAlice, asBob := bearerHeader(aliceTok), bearerHeader(bobTok)
	w := h.do(http.MethodPost, "/messages", asAlice, `{"to":"`+string(bob)+`","text":"lunch?"}`)
	id := decodeInto[editedJSON](t, w.Body.String()).ID
	path := "/messages/" + id + "/reaction"
	if b := h.do(http.MethodGet, "/messages/"+id, asBob, "").Body.String(); strings.Contains(b, "reactions") {
		t.Fatalf("a message without reactions shows them: %s", b)
	}
	for _, bad := range []string{`{"emoji":"ok"}`, `{"emoji":"👍👍"}`, `{"emoji":""}`} {
		expectError(t, h.do(http.MethodPut, path, asBob, bad), http.StatusBadRequest, domain.CodeInvalidEmoji)
	}
	expectError(t, h.do(http.MethodPut, path, asBob, `{}`), http.StatusBadRequest, domain.CodeMissingField)
	expectError(t, h.do(http.MethodPut, path, bearerHeader(carolTok), `{"emoji":"👍"}`), http.StatusNotFound, domain.CodeNotFound)
	if w := h.do(http.MethodPut, path, asBob, `{"emoji":"👍"}`); w.Code != http.StatusOK || w.Header().Get(httpapi.PositionHeader) == "" {
		t.Fatalf("react: %d %s", w.Code, w.Body)
	}
	h.do(http.MethodPut, path, asAlice, `{"emoji":"❤️"}`)
	want := `"reactions":[{"by":"` + string(alice) + `","emoji":"❤️","version":1,"stale":false},{"by":"` + string(bob) + `","emoji":"👍","version":1,"stale":false}]`
	for _, auth := range []http.Header{asAlice, asBob} {
		if b := h.do(http.MethodGet, "/messages/"+id, auth, "").Body.String(); !strings.Contains(b, want) {
			t.Fatalf("reactions: %s, want %s", b, want)
		}
	}
	// An edit leaves both reactions on version 1: stale, not endorsing the new text.
	h.do(http.MethodPatch, "/messages/"+id, asAlice, `{"text":"lunch at one?"}`)
	b := h.do(http.MethodGet, "/conversations/"+string(alice)+"/messages", asBob, "").Body.String()
	if !strings.Contains(b, `"emoji":"👍","version":1,"stale":true`) || !strings.Contains(b, `"emoji":"❤️","version":1,"stale":true`) {
		t.Fatalf("reactions after an edit: %s", b)
	}
	// Bob changes his mind on version 2, alice removes hers (a change wins
	// by its time, to the millisecond).
	now = now.Add(time.Second)
	h.do(http.MethodPut, path, asBob, `{"emoji":"🎉"}`)
	if w := h.do(http.MethodDelete, path, asAlice, ""); w.Code != http.StatusOK {
		t.Fatalf("remove: %d %s", w.Code, w.Body)
	}
	want = `"reactions":[{"by":"` + string(bob) + `","emoji":"🎉","version":2,"stale":false}]`
	if b := h.do(http.MethodGet, "/messages/"+id, asAlice, "").Body.String(); !strings.Contains(b, want) {
		t.Fatalf("reactions: %s, want %s", b, want)
	}
}
