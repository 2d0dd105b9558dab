package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// TestStatusNeverGoesBackBeforeTheViewsApply: GET /messages answers the
// messages it returns as delivered, and PATCH as read, before the views
// apply those events (here they never do: the harness projects nothing,
// like views that lag behind Kafka). Every later read on this process, of
// the message, the inbox, the history or the conversations, shows that
// status or a newer one, never the views' older one.
func TestStatusNeverGoesBackBeforeTheViewsApply(t *testing.T) {
	var views projections.Store
	h := newHarness(t, httpapi.Config{}, func(d *httpapi.Deps) { views = d.Views.(projections.Store) })
	alice, _ := h.user("alice")
	bob, bobToken := h.user("bob")
	at := time.Now().UTC().Truncate(time.Millisecond)
	sent := domain.MessageSent{ID: domain.MessageID(domain.NewID(at)), From: alice, To: bob, Text: "hi", SentAt: at}
	for _, u := range []domain.UserID{alice, bob} {
		if err := projections.ApplyFor(context.Background(), views, sent, u, domain.Position{Offset: 1}); err != nil {
			t.Fatal(err)
		}
	}
	auth := bearerHeader(bobToken)
	status := func(what, path string) []string {
		t.Helper()
		w := h.do(http.MethodGet, path, auth, "")
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", what, w.Code, w.Body)
		}
		var one struct {
			Status string `json:"status"`
		}
		var many []struct {
			Status      string `json:"status"`
			LastMessage struct {
				Status string `json:"status"`
			} `json:"last_message"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &one); err == nil {
			return []string{one.Status}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &many); err != nil {
			t.Fatalf("%s: %s: %v", what, w.Body, err)
		}
		var out []string
		for _, m := range many {
			out = append(out, m.Status+m.LastMessage.Status)
		}
		return out
	}
	expect := func(what, path, want string) {
		t.Helper()
		got := status(what, path)
		if len(got) != 1 || got[0] != want {
			t.Fatalf("%s: status %v, want %s", what, got, want)
		}
	}

	expect("GET /messages", "/messages", "delivered")
	for _, s := range []struct{ what, path string }{
		{"GET /messages/{id}", "/messages/" + string(sent.ID)},
		{"GET /messages again", "/messages"},
		{"history", "/conversations/" + string(alice) + "/messages"},
		{"conversations", "/conversations"},
	} {
		expect(s.what+" after GET /messages", s.path, "delivered")
	}

	if w := h.do(http.MethodPatch, "/messages/"+string(sent.ID), auth, ""); w.Code != http.StatusOK {
		t.Fatalf("PATCH: %d %s", w.Code, w.Body)
	}
	for _, s := range []struct{ what, path string }{
		{"GET /messages/{id}", "/messages/" + string(sent.ID)},
		{"GET /messages", "/messages"},
		{"history", "/conversations/" + string(alice) + "/messages"},
		{"conversations", "/conversations"},
	} {
		expect(s.what+" after PATCH", s.path, "read")
	}
}
