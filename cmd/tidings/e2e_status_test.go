package main

import (
	"net/http"
	"testing"
)

// TestStatusNeverGoesBack follows the README walkthrough as curl does,
// sending no X-Tidings-Position back: bob fetches his inbox (which marks
// what it returns delivered and says so), then fetches each message, then
// reads it. No later read may show an older status than an earlier
// answer. Against Kafka + Cassandra (TIDINGS_E2E_REAL=1) the message read
// answered "sent, delivered_at null" in 5 of 11 walkthroughs before the
// query side applied the process's recent marks.
func TestStatusNeverGoesBack(t *testing.T) {
	t.Parallel()
	inst := newInstance(t)
	srv := inst.start(t, serverOptions{Flags: []string{"--send-rate", "0"}})
	a := newAPI(t, srv, newPositions())
	sfx := randomSuffix(6)
	alice, bob := a.register(t, "alice-"+sfx), a.register(t, "bob-"+sfx)
	rank := map[string]int{"sent": 0, "delivered": 1, "read": 2}
	// Reads as curl makes them: no position sent back.
	get := func(path string) response {
		t.Helper()
		return a.do(t, request{Method: http.MethodGet, Path: path, Token: bob.Token, NoWait: true})
	}
	for i := range 10 {
		sent := decode[message](t, a.post(t, alice, "/messages", map[string]string{"to": bob.ID, "text": "walkthrough"}))
		// The inbox read waits until the views hold the send (its position
		// rides along), and marks the message delivered.
		res := a.get(t, bob, "/messages")
		expectStatus(t, res, http.StatusOK)
		inbox := decode[[]message](t, res)
		if len(inbox) == 0 || inbox[len(inbox)-1].ID != sent.ID {
			t.Fatalf("round %d: bob's inbox %v, want %s last", i, inbox, sent.ID)
		}
		if s := inbox[len(inbox)-1].Status; s != "delivered" {
			t.Fatalf("round %d: GET /messages showed %s, want delivered", i, s)
		}
		m := decode[message](t, get("/messages/"+sent.ID))
		if rank[m.Status] < rank["delivered"] || m.DeliveredAt == nil {
			t.Fatalf("round %d: GET /messages/%s after GET /messages: %s, delivered_at %v: the status went back",
				i, sent.ID, m.Status, m.DeliveredAt)
		}
		r := decode[message](t, a.do(t, request{Method: http.MethodPatch, Path: "/messages/" + sent.ID, Token: bob.Token, NoWait: true}))
		if r.Status != "read" {
			t.Fatalf("round %d: PATCH answered %s", i, r.Status)
		}
		if m := decode[message](t, get("/messages/"+sent.ID)); m.Status != "read" {
			t.Fatalf("round %d: GET /messages/%s after PATCH: %s: the status went back", i, sent.ID, m.Status)
		}
	}
}
