package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var userAddOutput = regexp.MustCompile(`^([0-7][0-9A-HJKMNP-TV-Z]{25}) (tdg_[A-Za-z0-9_-]{20,})\n$`)

// addUser runs "tidings users add NAME" and parses its "ID TOKEN" line.
func addUser(t *testing.T, inst *instance, name string) user {
	t.Helper()
	r := inst.run(t, "users", "add", name)
	if r.Err != nil {
		t.Fatalf("tidings users add %s: %v\n%s", name, r.Err, r.Stderr)
	}
	m := userAddOutput.FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("tidings users add %s printed %q, want \"ID TOKEN\\n\"", name, r.Stdout)
	}
	return user{ID: m[1], Name: name, Token: m[2]}
}

// TestRegistrationClosed checks that a closed server refuses sign-ups and
// that accounts made with "tidings users add" work against it.
func TestRegistrationClosed(t *testing.T) {
	t.Parallel()
	inst := newInstance(t)
	sfx := randomSuffix(6)
	closed := serverOptions{Flags: []string{"--open-registration=false"}}

	srv := inst.start(t, closed)
	a := newAPI(t, srv, newPositions())
	expectError(t, a.post(t, user{}, "/users", map[string]string{"name": "dave-" + sfx}), http.StatusForbidden, "registration_closed")
	srv.stop()

	dave := addUser(t, inst, "dave-"+sfx)
	erin := addUser(t, inst, "erin-"+sfx)
	if dave.ID == erin.ID || dave.Token == erin.Token {
		t.Fatalf("two users share an id or token: %+v %+v", dave, erin)
	}
	for _, name := range []string{dave.Name, "Not A Name"} {
		if r := inst.run(t, "users", "add", name); r.Err == nil {
			t.Errorf("tidings users add %q succeeded (%q), want an error", name, r.Stdout)
		}
	}

	srv = inst.start(t, closed)
	w := &world{inst: inst, srv: srv, pos: newPositions(), model: newModel(), sfx: sfx}
	w.connect(t, srv)
	expectError(t, w.api.post(t, user{}, "/users", map[string]string{"name": "frank-" + sfx}), http.StatusForbidden, "registration_closed")
	if res := w.api.get(t, dave, "/messages"); res.Status != http.StatusNoContent {
		t.Errorf("%v, want 204 for dave's empty inbox", res)
	}
	w.send(t, dave, erin, "hello erin", "d-1")
	w.send(t, erin, dave, "hello dave", "")
	checkViews(t, w.api, w.model, dave, erin)

	if !embeddedBackends() {
		return
	}
	// The running server holds the data directory: a second process must
	// refuse it, and leave the server and its data unharmed.
	if r := inst.run(t, "users", "add", "gina-"+sfx); r.Err == nil {
		t.Errorf("tidings users add while the server runs succeeded (%q), want an error: the data directory is in use", r.Stdout)
	}
	w.send(t, dave, erin, "after the refused users add", "d-2")
	checkViews(t, w.api, w.model, dave, erin)
	srv.kill()
	w.start(t, closed)
	w.send(t, erin, dave, "after the crash", "")
	checkViews(t, w.api, w.model, dave, erin)
}

// TestReplayRebuildsViews checks that "tidings replay" rebuilds views equal
// to the ones the server built as it went.
func TestReplayRebuildsViews(t *testing.T) {
	t.Parallel()
	inst := newInstance(t)
	w := &world{inst: inst, pos: newPositions(), model: newModel(), sfx: randomSuffix(6)}
	w.start(t, serverOptions{})
	users := []user{w.api.register(t, w.name("ada")), w.api.register(t, w.name("ben")),
		w.api.register(t, w.name("cy")), w.api.register(t, w.name("dee"))}

	events := 0
	var sent []message
	for i := range 60 {
		from, to := users[i%4], users[(i%4+1+i%3)%4]
		cmid := ""
		if i%2 == 0 {
			cmid = "r-" + strconv.Itoa(i)
		}
		sent = append(sent, w.send(t, from, to, fmt.Sprintf("message %d from %s", i, from.Name), cmid))
		events++
	}
	for i, m := range sent {
		if i%3 != 0 {
			continue
		}
		recipient := users[slices.IndexFunc(users, func(u user) bool { return u.ID == m.To })]
		method := http.MethodPatch
		if i%2 == 1 {
			method = http.MethodPut
		}
		w.markRead(t, recipient, method, m)
		events++
	}
	// Reading the inboxes marks their messages delivered, so the first
	// look changes what the second sees: compare with the settled views.
	checkViews(t, w.api, w.model, users...)
	before := checkViews(t, w.api, w.model, users...)

	// Events the server derives by itself (receipts) are appended in the
	// background: wait until the log stops growing, then count it.
	appended := settledAppendedTotal(t, w.api)
	if appended < events {
		t.Fatalf("the server appended %d events, want at least the %d sends and reads", appended, events)
	}

	if embeddedBackends() {
		if r := inst.run(t, "replay"); r.Err == nil {
			t.Errorf("tidings replay while the server runs succeeded (%q), want an error: the data directory is in use", r.Stdout)
		}
	}
	w.srv.stop()

	r := inst.run(t, "replay")
	if r.Err != nil {
		t.Fatalf("tidings replay: %v\n%s", r.Err, r.Stderr)
	}
	t.Logf("tidings replay: %s", strings.TrimSpace(r.Stdout))
	m := regexp.MustCompile(`^replayed (\d+) events in \S+`).FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("tidings replay printed %q, want \"replayed N events in ...\"", r.Stdout)
	}
	if n, _ := strconv.Atoi(m[1]); n != appended {
		t.Errorf("tidings replay replayed %d events, want the %d the server appended (%d of them sends and reads)", n, appended, events)
	}
	if progress := fmt.Sprintf("%d/%d events", appended, appended); !strings.Contains(r.Stderr, progress) {
		t.Errorf("tidings replay stderr lacks the progress %q:\n%s", progress, r.Stderr)
	}

	w.start(t, serverOptions{})
	after := checkViews(t, w.api, w.model, users...)
	for _, u := range users {
		compareSnapshots(t, u.Name+" after replay", after[u.Name], before[u.Name])
	}
	// The server goes on projecting new events after a replay.
	w.send(t, users[0], users[1], "after the replay", "")
	w.markRead(t, users[slices.IndexFunc(users, func(u user) bool { return u.ID == sent[1].To })], http.MethodPatch, sent[1])
	checkViews(t, w.api, w.model, users...)
}

// TestCrashKeepsAcknowledgedMessages kills the server with SIGKILL while a
// client sends, and checks that every send answered 200 survived, exactly
// once, and that the send cut off mid-flight can be retried safely.
func TestCrashKeepsAcknowledgedMessages(t *testing.T) {
	t.Parallel()
	inst := newInstance(t)
	opts := serverOptions{Flags: []string{"--send-rate", "0"}}
	srv := inst.start(t, opts)
	w := &world{inst: inst, srv: srv, pos: newPositions(), model: newModel(), sfx: randomSuffix(6)}
	w.connect(t, srv)
	alice, bob := w.api.register(t, w.name("alice")), w.api.register(t, w.name("bob"))

	type attempt struct {
		from, to          user
		text, clientMsgID string
	}
	var (
		mu       sync.Mutex
		acked    []message
		ackedPos = map[string]string{} // message id -> position
		inFlight *attempt              // the send the crash cut off
		failure  error                 // anything but 200 or a dead connection
	)
	enough := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		hc := &http.Client{Timeout: 10 * time.Second}
		for i := 0; i < 5000; i++ {
			at := attempt{from: alice, to: bob, text: "crash " + strconv.Itoa(i), clientMsgID: "c-" + strconv.Itoa(i)}
			if i%3 == 2 {
				at.from, at.to = bob, alice
			}
			status, hdr, body, err := postRaw(hc, srv.URL, at.from.Token,
				map[string]string{"to": at.to.ID, "text": at.text, "client_msg_id": at.clientMsgID})
			mu.Lock()
			switch {
			case err != nil:
				inFlight = &at
			case status != http.StatusOK:
				failure = fmt.Errorf("send %d: status %d: %s", i, status, body)
			default:
				var m message
				if err := json.Unmarshal(body, &m); err != nil {
					failure = fmt.Errorf("send %d: %v", i, err)
					break
				}
				acked = append(acked, m)
				ackedPos[m.ID] = hdr.Get(positionHeader)
				if len(acked) == 40 {
					close(enough)
				}
			}
			stop := inFlight != nil || failure != nil
			mu.Unlock()
			if stop {
				return
			}
		}
	}()
	select {
	case <-enough:
	case <-done:
	case <-time.After(30 * time.Second):
	}
	srv.kill()
	<-done
	if failure != nil {
		t.Fatalf("before the crash: %v", failure)
	}
	if len(acked) < 40 {
		t.Fatalf("only %d sends acknowledged before the crash, want at least 40", len(acked))
	}
	t.Logf("%d sends acknowledged before SIGKILL; in flight: %v", len(acked), inFlight != nil)

	w.start(t, opts)
	for _, m := range acked {
		reader := alice
		if m.To == bob.ID {
			reader = bob
		}
		got := getEventually(t, w.api, reader, m.ID, ackedPos[m.ID])
		if !reflect.DeepEqual(got, m) {
			t.Errorf("after the crash %s reads %v, want the acknowledged %v", reader.Name, got, m)
		}
		w.model.put(m)
	}
	// The send in flight had an unknown outcome: its retry must yield one
	// message whether or not the first attempt got appended.
	if inFlight != nil {
		w.send(t, inFlight.from, inFlight.to, inFlight.text, inFlight.clientMsgID)
	}
	// So must the retry of an acknowledged send.
	first := acked[0]
	res := w.api.post(t, alice, "/messages", map[string]string{"to": bob.ID, "text": first.Text, "client_msg_id": *first.ClientMsgID})
	expectStatus(t, res, http.StatusOK)
	if got := decode[message](t, res); got.ID != first.ID {
		t.Errorf("retry of %s after the crash: id %s, want %s", *first.ClientMsgID, got.ID, first.ID)
	}
	checkViews(t, w.api, w.model, alice, bob)
}

// settledAppendedTotal returns the number of events the server appended, as
// tidings_events_appended_total of every type sums it, once the log has
// settled: every MessageDelivered and MessageRead has its receipt (the
// events the server derives in the background) and the views have
// projected every event appended.
func settledAppendedTotal(t *testing.T, a *api) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		appended := metricByType(t, a, "tidings_events_appended_total")
		projected := metricByType(t, a, "tidings_events_projected_total")
		total := func(m map[string]int) (n int) {
			for _, v := range m {
				n += v
			}
			return n
		}
		receipts, marks := appended["MessageReceipt"], appended["MessageDelivered"]+appended["MessageRead"]
		if receipts >= marks && total(projected) >= total(appended) {
			return total(appended)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log has not settled after 15s: appended %v, projected %v", appended, projected)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metricByType reads the counter name of every event type from /metrics.
func metricByType(t *testing.T, a *api, name string) map[string]int {
	t.Helper()
	res := a.do(t, request{Method: http.MethodGet, Path: "/metrics"})
	expectStatus(t, res, http.StatusOK)
	out := map[string]int{}
	line := regexp.MustCompile(`^` + name + `\{type="(\w+)"\} (\S+)$`)
	for l := range strings.Lines(string(res.Body)) {
		if m := line.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", l, err)
			}
			out[m[1]] = int(v)
		}
	}
	return out
}

// postRaw sends a message without the test helpers, which may not be used
// off the test goroutine.
func postRaw(hc *http.Client, base, token string, body any) (int, http.Header, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, nil, err
	}
	req, err := http.NewRequest(http.MethodPost, base+"/messages", bytes.NewReader(b))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, out, err
}

// getEventually reads message id as u, waiting for position pos and, since
// views are eventually consistent, retrying a 404 for a few seconds.
func getEventually(t *testing.T, a *api, u user, id, pos string) message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := a.do(t, request{Method: http.MethodGet, Path: "/messages/" + id, Token: u.Token,
			Header: http.Header{positionHeader: {pos}}})
		if res.Status == http.StatusOK {
			return decode[message](t, res)
		}
		if res.Status != http.StatusNotFound || time.Now().After(deadline) {
			t.Fatalf("%v: acknowledged message lost", res)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitStatus waits until u's view of message id has status want (views of
// the other party catch up in the background: receipts are derived).
func waitStatus(t *testing.T, a *api, u user, id, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := a.get(t, u, "/messages/"+id)
		if res.Status == http.StatusOK && decode[message](t, res).Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's view of %s: %v, still not %s after 10 s", u.Name, id, res, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
