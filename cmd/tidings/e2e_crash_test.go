package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCrashWithConcurrentSendsInFlight kills the server with SIGKILL while
// many clients send at once, so that the kill lands in the middle of
// requests (appends being group-committed, answers being written), not
// between them. After the restart every send answered 200 must exist
// exactly once, as acknowledged; every send cut off must, retried with
// its client_msg_id, exist exactly once too, whether or not the first
// attempt was appended.
func TestCrashWithConcurrentSendsInFlight(t *testing.T) {
	t.Parallel()
	const (
		senders   = 16
		killAfter = 150 // acknowledged sends before the kill
	)
	inst := newInstance(t)
	opts := serverOptions{Flags: []string{"--send-rate", "0"}}
	srv := inst.start(t, opts)
	w := &world{inst: inst, srv: srv, pos: newPositions(), model: newModel(), sfx: randomSuffix(6)}
	w.connect(t, srv)
	var users []user
	for i := range 8 {
		users = append(users, w.api.register(t, w.name("crash"+strconv.Itoa(i))))
	}

	type attempt struct {
		from, to          user
		text, clientMsgID string
		started           time.Time
	}
	type acked struct {
		msg message
		pos string
	}
	var (
		mu      sync.Mutex
		ok      []acked
		cut     []attempt // sends whose answer never came: outcome unknown
		failure error     // any answer but 200 before the kill
		count   atomic.Int64
	)
	enough := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for g := range senders {
		from, to := users[g%8], users[(g%8+1+g/8)%8]
		wg.Go(func() {
			hc := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				at := attempt{from: from, to: to, text: fmt.Sprintf("in flight %d-%d", g, i), clientMsgID: fmt.Sprintf("f-%d-%d", g, i), started: time.Now()}
				status, hdr, body, err := postRaw(hc, srv.URL, from.Token,
					map[string]string{"to": to.ID, "text": at.text, "client_msg_id": at.clientMsgID})
				mu.Lock()
				switch {
				case err != nil:
					cut = append(cut, at)
				case status != http.StatusOK:
					failure = fmt.Errorf("send %s: status %d: %s", at.clientMsgID, status, body)
				default:
					var m message
					if jerr := json.Unmarshal(body, &m); jerr != nil {
						failure = fmt.Errorf("send %s: %v", at.clientMsgID, jerr)
					} else {
						ok = append(ok, acked{m, hdr.Get(positionHeader)})
					}
				}
				mu.Unlock()
				if err != nil || status != http.StatusOK {
					return
				}
				if count.Add(1) >= killAfter {
					once.Do(func() { close(enough) })
				}
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
	}
	killedAt := time.Now()
	srv.kill()
	wg.Wait()
	if failure != nil {
		t.Fatalf("before the crash: %v", failure)
	}
	if len(ok) < killAfter {
		t.Fatalf("only %d sends acknowledged before the crash, want at least %d", len(ok), killAfter)
	}
	// A send cut off that started before the kill was in flight when the
	// process died (the others found the port closed).
	inFlight := 0
	for _, at := range cut {
		if at.started.Before(killedAt) {
			inFlight++
		}
	}
	if inFlight == 0 {
		t.Fatalf("no send was in flight when the server was killed (%d acknowledged): the test did not test a crash mid-request", len(ok))
	}
	t.Logf("SIGKILL with %d of %d senders' requests in flight, after %d acknowledged", inFlight, senders, len(ok))

	w.start(t, opts)
	for _, a := range ok {
		reader := userWithID(t, users, a.msg.To)
		got := getEventually(t, w.api, reader, a.msg.ID, a.pos)
		if !reflect.DeepEqual(got, a.msg) {
			t.Errorf("after the crash %s reads %v, want the acknowledged %v", reader.Name, got, a.msg)
		}
		w.model.put(a.msg)
	}
	// Retries of the sends cut off, each with its client_msg_id: one
	// message each, whether the first attempt was appended or not.
	for _, at := range cut {
		w.send(t, at.from, at.to, at.text, at.clientMsgID)
	}
	// Retrying an acknowledged send gives the acknowledged message.
	first := ok[0].msg
	res := w.api.post(t, userWithID(t, users, first.From), "/messages",
		map[string]string{"to": first.To, "text": first.Text, "client_msg_id": *first.ClientMsgID})
	expectStatus(t, res, http.StatusOK)
	if got := decode[message](t, res); got.ID != first.ID {
		t.Errorf("retry of %s after the crash: id %s, want %s", *first.ClientMsgID, got.ID, first.ID)
	}

	// Exactly once: every conversation holds each client_msg_id once, and
	// all of them together hold exactly the model's messages.
	snaps := checkViews(t, w.api, w.model, users...)
	seen := map[string]int{}
	for _, u := range users {
		for _, history := range snaps[u.Name].History {
			for _, m := range history {
				if m.From == u.ID && m.ClientMsgID != nil {
					seen[*m.ClientMsgID]++
				}
			}
		}
	}
	for _, m := range w.model.all() {
		if n := seen[*m.ClientMsgID]; n != 1 {
			t.Errorf("client_msg_id %s is in its conversation %d times, want once", *m.ClientMsgID, n)
		}
	}
	if len(seen) != len(ok)+len(cut) {
		t.Errorf("the conversations hold %d client_msg_ids, want the %d acknowledged and %d retried", len(seen), len(ok), len(cut))
	}
}

// userWithID returns the user of us with id.
func userWithID(t *testing.T, us []user, id string) user {
	t.Helper()
	for _, u := range us {
		if u.ID == id {
			return u
		}
	}
	t.Fatalf("no user has id %s", id)
	return user{}
}
