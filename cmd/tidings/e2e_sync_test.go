package main

// End-to-end tests of keeping a user's devices in sync (issue 12): own
// sends echoed to the sender's other devices, live and on resume, exactly
// once per device; reads and read markers reaching every device of the
// reader; unread counts that match a recount from the log under
// concurrent reads from several devices, and again after a replay.
//
//	go test -count=1 -run 'Sync' -v ./cmd/tidings/
//	eval "$(bash scripts/services.sh env)"; TIDINGS_E2E_REAL=1 go test -count=1 -run 'Sync' ./cmd/tidings/

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// wsDialEchoes is wsDial keeping the "sent" frames.
func wsDialEchoes(t *testing.T, s *server, u user, since, name string) *wsClient {
	t.Helper()
	c, resp, err := wsTryDial(s, since, []string{wsSubprotocol, "bearer." + u.Token}, nil)
	if err != nil {
		t.Fatalf("%s: dial as %s: %v (%s)", name, u.Name, err, wsRespSummary(resp))
	}
	return wsStartWith(t, c, name, true)
}

// sentIDs returns the message ids of the sent frames among frames, in
// order, and fails t on a sent frame without a cursor or of another user.
func sentIDs(t *testing.T, u user, frames []wsFrame) []string {
	t.Helper()
	var out []string
	for _, f := range frames {
		if f.Type != "sent" {
			continue
		}
		m := f.msg(t)
		if f.Cursor == "" || m.From != u.ID {
			t.Fatalf("sent frame %s: want a cursor and a message from %s", f, u.Name)
		}
		out = append(out, m.ID)
	}
	return out
}

// framesUntil reads frames until pred holds for the frames read so far.
func (w *wsClient) framesUntil(t *testing.T, what string, pred func([]wsFrame) bool) []wsFrame {
	t.Helper()
	var got []wsFrame
	for !pred(got) {
		got = append(got, w.must(t, what))
	}
	return got
}

func TestSyncOwnSendsAndReadsReachEveryDevice(t *testing.T) {
	inst := newInstance(t)
	srv := inst.start(t, serverOptions{Flags: []string{"--send-rate", "0"}})
	a := newAPI(t, srv, newPositions())
	sfx := randomSuffix(6)
	alice, bob := a.register(t, "syalice-"+sfx), a.register(t, "sybob-"+sfx)

	phone := wsDialEchoes(t, srv, alice, "", "alice's phone")
	laptop := wsDialEchoes(t, srv, alice, "", "alice's laptop")
	phoneReady, _ := phone.ready(t)
	laptop.ready(t)
	bobPhone, bobLaptop := wsDial(t, srv, bob, "", "bob's phone"), wsDial(t, srv, bob, "", "bob's laptop")
	bobPhone.ready(t)
	bobLaptop.ready(t)

	// Three sends from the phone over WebSocket, one over REST.
	var want []string
	for i := range 3 {
		ref := fmt.Sprintf("s%d", i)
		phone.send(t, map[string]string{"type": "send", "ref": ref, "to": bob.ID, "text": fmt.Sprintf("from my phone %d", i)})
		ack, before := phone.ack(t, ref)
		if !ack.OK {
			t.Fatalf("send %s: %s", ref, ack)
		}
		if ids := sentIDs(t, alice, before); len(ids) != 0 {
			t.Errorf("the phone got sent frames %v before its own ack", ids)
		}
		want = append(want, ack.msg(t).ID)
	}
	rest := wsSendREST(t, a, alice, bob, "from the REST client")
	want = append(want, rest.ID)

	// The laptop sees all four, once each, in cursor order (which need not
	// be the order they were sent in: each send is echoed from its
	// recipient's partition); the phone only the one it did not send
	// itself.
	frames := laptop.framesUntil(t, "alice's sends on her laptop", func(fs []wsFrame) bool {
		return len(sentIDs(t, alice, fs)) == len(want)
	})
	got := sentIDs(t, alice, frames)
	if sorted := slices.Sorted(slices.Values(got)); !slices.Equal(sorted, slices.Sorted(slices.Values(want))) {
		t.Fatalf("laptop: sent frames %v, want each of %v once", got, want)
	}
	var cursors []string
	for _, f := range frames {
		if f.Type == "sent" {
			if len(cursors) > 0 {
				wsCursorAfter(t, cursors[len(cursors)-1], f.Cursor, "laptop's sent frames")
			}
			cursors = append(cursors, f.Cursor)
		}
	}
	want = got // from here on, the cursor order
	laptop.quiet(t, wsQuiet, "every send was echoed once")
	phoneGot := sentIDs(t, alice, phone.framesUntil(t, "the REST send on the phone", func(fs []wsFrame) bool {
		return len(sentIDs(t, alice, fs)) == 1
	}))
	if !slices.Equal(phoneGot, []string{rest.ID}) {
		t.Fatalf("phone: sent frames %v, want only the REST send %s", phoneGot, rest.ID)
	}
	phone.quiet(t, wsQuiet, "the phone's own WebSocket sends are in its acks")

	// A tablet that resumes from the phone's first ready cursor gets the
	// four sends exactly once, and from the second one's cursor the rest.
	tablet := wsDialEchoes(t, srv, alice, phoneReady.Cursor, "alice's tablet")
	ready, backlog := tablet.ready(t)
	if ready.Reset || !slices.Equal(sentIDs(t, alice, backlog), want) {
		t.Fatalf("tablet resumed from %s: backlog %v, ready %s; want the sends %v", phoneReady.Cursor, backlog, ready, want)
	}
	tablet2 := wsDialEchoes(t, srv, alice, cursors[1], "alice's tablet again")
	_, backlog = tablet2.ready(t)
	if got := sentIDs(t, alice, backlog); !slices.Equal(got, want[2:]) {
		t.Fatalf("resume after the second send: %v, want %v", got, want[2:])
	}

	want = slices.Sorted(slices.Values(want)) // ids sort by send time
	// Bob reads one message on his phone: both his devices are told. Then
	// he reads up to the last on his laptop: both are told, and the count
	// is 0 everywhere.
	read := a.patch(t, bob, "/messages/"+want[0])
	expectStatus(t, read, http.StatusOK)
	for _, d := range []*wsClient{bobPhone, bobLaptop} {
		d.framesUntil(t, "bob's read", func(fs []wsFrame) bool {
			return len(fs) > 0 && fs[len(fs)-1].Type == "read" && fs[len(fs)-1].ID == want[0]
		})
	}
	convs := decode[[]struct {
		Peer        string `json:"peer"`
		UnreadCount int    `json:"unread_count"`
	}](t, a.get(t, bob, "/conversations"))
	if len(convs) != 1 || convs[0].UnreadCount != 3 {
		t.Fatalf("bob's conversations after one read: %+v, want alice with 3 unread", convs)
	}
	// A read_up_to frame from the laptop: acked with the message, told to
	// both devices.
	bobLaptop.send(t, map[string]string{"type": "read_up_to", "id": want[1], "ref": "u1"})
	ack, early := bobLaptop.ack(t, "u1") // the push may come before the ack
	if !ack.OK || ack.msg(t).ID != want[1] || ack.Position == "" {
		t.Fatalf("read_up_to frame: ack %s, want ok with the message and a position", ack)
	}
	a.pos.add(t, ack.Position)
	for _, d := range []*wsClient{bobPhone, bobLaptop} {
		isMark := func(f wsFrame) bool { return f.Type == "read_up_to" }
		fs := early
		if d != bobLaptop || !slices.ContainsFunc(early, isMark) {
			fs = d.framesUntil(t, "bob's read_up_to", func(fs []wsFrame) bool { return slices.ContainsFunc(fs, isMark) })
		}
		if f := fs[slices.IndexFunc(fs, isMark)]; f.Peer != alice.ID || f.UpTo != want[1] {
			t.Fatalf("%s: read_up_to frame %s, want peer %s up to %s", d.name, f, alice.ID, want[1])
		}
	}
	if total := decode[map[string]int](t, a.get(t, bob, "/me/unread")); total["unread_total"] != 2 {
		t.Fatalf("bob's unread total after reading up to the second: %v, want 2", total)
	}
	bobLaptop.send(t, map[string]string{"type": "read_up_to", "id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "ref": "u2"})
	if ack, _ := bobLaptop.ack(t, "u2"); ack.OK || ack.Error == nil || ack.Error.Code != "not_found" {
		t.Fatalf("read_up_to of an unknown message: %s, want not_found", ack)
	}
	res := a.post(t, bob, "/conversations/"+alice.ID+"/read", map[string]string{"up_to": want[3]})
	expectStatus(t, res, http.StatusOK)
	for _, d := range []*wsClient{bobPhone, bobLaptop} {
		fs := d.framesUntil(t, "bob's read_up_to", func(fs []wsFrame) bool {
			return len(fs) > 0 && fs[len(fs)-1].Type == "read_up_to"
		})
		if f := fs[len(fs)-1]; f.Peer != alice.ID || f.UpTo != want[3] || f.Cursor == "" {
			t.Fatalf("%s: read_up_to frame %s, want peer %s up to %s", d.name, f, alice.ID, want[3])
		}
	}
	total := decode[map[string]int](t, a.get(t, bob, "/me/unread"))
	if total["unread_total"] != 0 || total["conversations"] != 0 {
		t.Fatalf("bob's unread total after reading up to the last: %v, want 0", total)
	}
	expectStatus(t, a.get(t, bob, "/messages"), http.StatusNoContent)

	// Bad markers: another user's message, a message bob sent, no up_to.
	mine := wsSendREST(t, a, bob, alice, "bob's own")
	for _, tc := range []struct {
		name, peer, upTo string
		status           int
		code             string
	}{
		{"own message", alice.ID, mine.ID, http.StatusNotFound, "not_found"},
		{"wrong peer", bob.ID, want[0], http.StatusNotFound, "not_found"},
		{"not an id", alice.ID, "nope", http.StatusNotFound, "not_found"},
		{"missing up_to", alice.ID, "", http.StatusBadRequest, "missing_field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectError(t, a.post(t, bob, "/conversations/"+tc.peer+"/read", map[string]string{"up_to": tc.upTo}), tc.status, tc.code)
		})
	}
	expectError(t, a.post(t, alice, "/conversations/"+bob.ID+"/read", map[string]string{"up_to": want[0]}), http.StatusNotFound, "not_found")
}

// syncClient makes API calls from goroutines (it returns errors instead
// of failing a t).
type syncClient struct {
	hc   *http.Client
	base string
}

func (c syncClient) call(method, path, token string, body any) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b, err
}

// TestSyncUnreadCountsUnderConcurrentReads: three devices of bob read
// concurrently, message by message and up to a message, while alice and
// carol keep sending; then every count bob is shown (GET /conversations,
// GET /me/unread, GET /messages) equals a recount from what was appended,
// and on the embedded backends a recount from the log itself, and again
// after tidings replay.
func TestSyncUnreadCountsUnderConcurrentReads(t *testing.T) {
	inst := newInstance(t)
	srv := inst.start(t, serverOptions{Flags: []string{"--send-rate", "0"}})
	pos := newPositions()
	a := newAPI(t, srv, pos)
	sfx := randomSuffix(6)
	bob := a.register(t, "cubob-"+sfx)
	peers := []user{a.register(t, "cualice-"+sfx), a.register(t, "cucarol-"+sfx)}

	var (
		mu       sync.Mutex
		received = map[string][]message{} // by peer, in send order
		events   []domain.Event           // what the commands appended, as they said
		posHdrs  []string
	)
	for _, p := range peers {
		for i := range 15 {
			m := wsSendREST(t, a, p, bob, fmt.Sprintf("first %d", i))
			received[p.ID] = append(received[p.ID], m)
			events = append(events, sentEvent(t, m))
		}
	}
	c := syncClient{hc: &http.Client{}, base: srv.URL}
	pick := func(rng *rand.Rand) (user, message) {
		mu.Lock()
		defer mu.Unlock()
		p := peers[rng.IntN(len(peers))]
		ms := received[p.ID]
		return p, ms[rng.IntN(len(ms))]
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for dev := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(dev), 7))
			for range 15 {
				p, m := pick(rng)
				var (
					status int
					h      http.Header
					err    error
					ev     domain.Event
				)
				if rng.IntN(5) == 0 {
					status, h, _, err = c.call(http.MethodPost, "/conversations/"+p.ID+"/read", bob.Token, map[string]string{"up_to": m.ID})
					ev = domain.ConversationRead{ID: domain.MessageID(m.ID), From: domain.UserID(p.ID), To: domain.UserID(bob.ID)}
				} else {
					status, h, _, err = c.call(http.MethodPatch, "/messages/"+m.ID, bob.Token, nil)
					ev = domain.MessageRead{ID: domain.MessageID(m.ID), From: domain.UserID(p.ID), To: domain.UserID(bob.ID)}
				}
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("device %d: %d on %T of %s", dev, status, ev, m.ID)
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				events = append(events, ev)
				if ph := h.Get(positionHeader); ph != "" {
					posHdrs = append(posHdrs, ph)
				}
				mu.Unlock()
			}
		})
	}
	// The peers keep sending meanwhile.
	wg.Go(func() {
		for i := range 20 {
			p := peers[i%len(peers)]
			status, h, b, err := c.call(http.MethodPost, "/messages", p.Token, map[string]string{"to": bob.ID, "text": fmt.Sprintf("during %d", i)})
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("send: %d %s", status, b)
			}
			var m message
			if err == nil {
				err = json.Unmarshal(b, &m)
			}
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			received[p.ID] = append(received[p.ID], m)
			events = append(events, domain.MessageSent{ID: domain.MessageID(m.ID), From: domain.UserID(m.From), To: domain.UserID(m.To)})
			posHdrs = append(posHdrs, h.Get(positionHeader))
			mu.Unlock()
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, h := range posHdrs {
		pos.add(t, h)
	}

	want := contract.RecountUnread(events, domain.UserID(bob.ID))
	t.Logf("%d events; unread by the recount: %v", len(events), counts(want))
	checkUnreadViews(t, a, bob, want, "after the concurrent reads")

	if !embeddedBackends() {
		return
	}
	srv.stop()
	fromLog := recountFromLog(t, inst, domain.UserID(bob.ID))
	if fmt.Sprint(counts(fromLog)) != fmt.Sprint(counts(want)) {
		t.Fatalf("recount from the log %v, from the commands' answers %v", counts(fromLog), counts(want))
	}
	r := inst.run(t, "replay")
	if r.Err != nil {
		t.Fatalf("tidings replay: %v\n%s", r.Err, r.Stderr)
	}
	t.Logf("tidings replay: %s", bytes.TrimSpace([]byte(r.Stdout)))
	srv = inst.start(t, serverOptions{})
	a = newAPI(t, srv, newPositions())
	checkUnreadViews(t, a, bob, fromLog, "after tidings replay")
}

// sentEvent is the MessageSent of a message as far as counting goes.
func sentEvent(t *testing.T, m message) domain.Event {
	t.Helper()
	return domain.MessageSent{ID: domain.MessageID(m.ID), From: domain.UserID(m.From), To: domain.UserID(m.To), SentAt: m.sentAt(t)}
}

func counts(by map[domain.UserID][]domain.MessageSent) map[string]int {
	out := map[string]int{}
	for p, ms := range by {
		out[string(p)] = len(ms)
	}
	return out
}

// checkUnreadViews fails unless the counts and the inbox bob is shown
// are want's.
func checkUnreadViews(t *testing.T, a *api, bob user, want map[domain.UserID][]domain.MessageSent, when string) {
	t.Helper()
	convs := decode[[]struct {
		Peer        string `json:"peer"`
		UnreadCount int    `json:"unread_count"`
	}](t, a.get(t, bob, "/conversations"))
	got, total := map[string]int{}, 0
	for _, c := range convs {
		if c.UnreadCount > 0 {
			got[c.Peer] = c.UnreadCount
			total += c.UnreadCount
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(counts(want)) {
		t.Fatalf("%s: unread counts %v, recount %v", when, got, counts(want))
	}
	tot := decode[map[string]int](t, a.get(t, bob, "/me/unread"))
	if tot["unread_total"] != total || tot["conversations"] != len(got) {
		t.Fatalf("%s: /me/unread %v, want total %d in %d conversations", when, tot, total, len(got))
	}
	var wantIDs, gotIDs []string
	for _, ms := range want {
		for _, m := range ms {
			wantIDs = append(wantIDs, string(m.ID))
		}
	}
	if total > 0 {
		for _, m := range decode[[]message](t, a.get(t, bob, "/messages?limit=500")) {
			gotIDs = append(gotIDs, m.ID)
		}
	} else {
		expectStatus(t, a.get(t, bob, "/messages"), http.StatusNoContent)
	}
	slices.Sort(wantIDs)
	slices.Sort(gotIDs)
	if !slices.Equal(gotIDs, wantIDs) {
		t.Fatalf("%s: GET /messages %v, recount %v", when, gotIDs, wantIDs)
	}
}

// recountFromLog reads the embedded log of a stopped server and recounts
// bob's unread messages from it.
func recountFromLog(t *testing.T, inst *instance, bob domain.UserID) map[domain.UserID][]domain.MessageSent {
	t.Helper()
	l, err := embedded.OpenEventLog(filepath.Join(inst.dir, "log"), embedded.EventLogConfig{Partitions: 16}) // the default
	if err != nil {
		t.Fatalf("open the log: %v", err)
	}
	defer l.Close()
	ctx := context.Background()
	var (
		mu  sync.Mutex
		evs []domain.Event
	)
	_, _, err = projections.Scan(ctx, l, nil, func(_ context.Context, b projections.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range b.Records {
			evs = append(evs, r.Event)
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("scan the log: %v", err)
	}
	return contract.RecountUnread(evs, bob)
}
