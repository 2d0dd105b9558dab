package main

import (
	"net/http"
	"testing"
)

// TestRetriedSendReachesADeviceOnce: a send retried with its client_msg_id
// after the recipient's device got the first copy is not given to that
// device again when it resumes from the cursor it processed, and a device
// resuming from before both copies gets the message once. Against Kafka +
// Cassandra (TIDINGS_E2E_REAL=1) the resume got the retry's copy as a new
// message before the copy was told apart (MessageSent.retry).
func TestRetriedSendReachesADeviceOnce(t *testing.T) {
	t.Parallel()
	inst := newInstance(t)
	srv := inst.start(t, serverOptions{Flags: []string{"--send-rate", "0"}})
	a := newAPI(t, srv, newPositions())
	sfx := randomSuffix(6)
	alice, bob := a.register(t, "alice-"+sfx), a.register(t, "bob-"+sfx)

	phone := wsDial(t, srv, bob, "", "bob's phone")
	before, _ := phone.ready(t)
	body := map[string]string{"to": bob.ID, "text": "once", "client_msg_id": "c-" + sfx}
	res := a.post(t, alice, "/messages", body)
	expectStatus(t, res, http.StatusOK)
	m := decode[message](t, res)
	f := phone.expect(t, "message")
	if got := f.msg(t); got.ID != m.ID {
		t.Fatalf("pushed %s, want %s", got.ID, m.ID)
	}
	_ = phone.conn.CloseNow()

	// The retry: its answer is lost to the client, which sends again.
	res = a.post(t, alice, "/messages", body)
	expectStatus(t, res, http.StatusOK)
	if again := decode[message](t, res); again.ID != m.ID {
		t.Fatalf("the retry made message %s, want %s", again.ID, m.ID)
	}
	// Wait until the views hold the retry's copy (its position rides along).
	expectStatus(t, a.get(t, bob, "/messages/"+m.ID), http.StatusOK)

	count := func(frames []wsFrame) int {
		n := 0
		for _, f := range frames {
			if f.Type == "message" && f.msg(t).ID == m.ID {
				n++
			}
		}
		return n
	}
	resumed := wsDial(t, srv, bob, f.Cursor, "bob's phone, resumed after the message")
	if _, backlog := resumed.ready(t); count(backlog) != 0 {
		t.Errorf("resume from the message's cursor %s: backlog %v holds the message again", f.Cursor, backlog)
	}
	resumed.quiet(t, wsQuiet, "nothing new after the resume")
	laptop := wsDial(t, srv, bob, before.Cursor, "bob's laptop, resumed from before the message")
	if _, backlog := laptop.ready(t); count(backlog) != 1 {
		t.Errorf("resume from %s, before both copies: backlog %v, want the message once", before.Cursor, backlog)
	}
}
