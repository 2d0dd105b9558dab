package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// model is what the views must show: every acknowledged message as the
// last command response returned it. Safe for concurrent use.
type model struct {
	mu   sync.Mutex
	msgs map[string]message
}

func newModel() *model { return &model{msgs: map[string]message{}} }

// put records m (a send or mark-read response), replacing its older state.
func (m *model) put(msg message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs[msg.ID] = msg
}

// delivered records the delivery a GET /messages page reports for messages
// the model still has as sent.
func (m *model) delivered(t *testing.T, page []byte) {
	t.Helper()
	var msgs []message
	if err := json.Unmarshal(page, &msgs); err != nil {
		t.Fatalf("decode GET /messages page: %v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, got := range msgs {
		cur, ok := m.msgs[got.ID]
		if ok && cur.Status == "sent" && got.Status == "delivered" {
			cur.Status, cur.DeliveredAt = got.Status, got.DeliveredAt
			m.msgs[got.ID] = cur
		}
	}
}

func (m *model) get(id string) (message, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	msg, ok := m.msgs[id]
	return msg, ok
}

func (m *model) all() []message {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]message, 0, len(m.msgs))
	for _, msg := range m.msgs {
		out = append(out, msg)
	}
	slices.SortFunc(out, func(a, b message) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// byTime orders messages oldest first: by sent_at, then id (the API's
// order for messages sent in the same millisecond).
func byTime(t *testing.T) func(a, b message) int {
	return func(a, b message) int {
		if c := a.sentAt(t).Compare(b.sentAt(t)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	}
}

// snapshot is everything the API shows one user.
type snapshot struct {
	Unread        []message            // GET /messages, every page
	Conversations []conversation       // GET /conversations, every page
	History       map[string][]message // GET /conversations/{peer}/messages by peer
	Messages      map[string]message   // GET /messages/{id} of every message of theirs
	Hidden        []string             // ids of other people's messages, each answered 404
}

// expect returns the snapshot that the model predicts for u; ids are the
// messages that exist (all of the model's).
func (m *model) expect(t *testing.T, u user) snapshot {
	t.Helper()
	s := snapshot{History: map[string][]message{}, Messages: map[string]message{}}
	last := map[string]conversation{}
	for _, msg := range m.all() {
		if msg.From != u.ID && msg.To != u.ID {
			s.Hidden = append(s.Hidden, msg.ID)
			continue
		}
		s.Messages[msg.ID] = msg
		peer := msg.From
		if peer == u.ID {
			peer = msg.To
		}
		s.History[peer] = append(s.History[peer], msg)
		c := last[peer]
		c.Peer = peer
		if c.LastMessage.ID == "" || byTime(t)(msg, c.LastMessage) > 0 {
			c.LastMessage = msg
		}
		if msg.To == u.ID && msg.Status != "read" {
			s.Unread = append(s.Unread, msg)
			c.UnreadCount++
		}
		last[peer] = c
	}
	slices.SortFunc(s.Unread, byTime(t))
	for peer, h := range s.History {
		slices.SortFunc(h, func(a, b message) int { return byTime(t)(b, a) }) // newest first
		s.History[peer] = h
	}
	for _, c := range last {
		s.Conversations = append(s.Conversations, c)
	}
	// Newest last message first; the same millisecond by peer id.
	slices.SortFunc(s.Conversations, func(a, b conversation) int {
		if c := b.LastMessage.sentAt(t).Compare(a.LastMessage.sentAt(t)); c != 0 {
			return c
		}
		return cmp.Compare(a.Peer, b.Peer)
	})
	return s
}

// The limits the snapshots read lists with, small enough that lists of a
// few items span several pages.
const (
	pageSize             = 3
	conversationPageSize = 2
)

// snapshotOf reads everything u can see through the API: every list page by
// page, every one of ids by id (ids u is no party to must answer 404
// not_found; they make up Hidden).
func snapshotOf(t *testing.T, a *api, u user, ids []string) snapshot {
	t.Helper()
	s := snapshot{History: map[string][]message{}, Messages: map[string]message{}}
	limit := fmt.Sprintf("?limit=%d", pageSize)
	s.Unread, _ = collect[message](t, a, u, "/messages"+limit)
	s.Conversations, _ = collect[conversation](t, a, u, fmt.Sprintf("/conversations?limit=%d", conversationPageSize))
	for _, c := range s.Conversations {
		s.History[c.Peer], _ = collect[message](t, a, u, "/conversations/"+c.Peer+"/messages"+limit)
	}
	for _, id := range ids {
		res := a.get(t, u, "/messages/"+id)
		switch res.Status {
		case http.StatusOK:
			checkMessageShape(t, res.Body)
			s.Messages[id] = decode[message](t, res)
		case http.StatusNotFound:
			expectError(t, res, http.StatusNotFound, "not_found")
			s.Hidden = append(s.Hidden, id)
		default:
			t.Errorf("%v, want 200 or 404", res)
		}
	}
	slices.Sort(s.Hidden)
	return s
}

// checkViews compares what every user sees through the API with the model.
func checkViews(t *testing.T, a *api, m *model, users ...user) map[string]snapshot {
	t.Helper()
	var ids []string
	for _, msg := range m.all() {
		ids = append(ids, msg.ID)
	}
	out := map[string]snapshot{}
	for _, u := range users {
		got := snapshotOf(t, a, u, ids)
		compareSnapshots(t, u.Name, got, m.expect(t, u))
		out[u.Name] = got
	}
	return out
}

// compareSnapshots reports every view where got differs from want.
func compareSnapshots(t *testing.T, who string, got, want snapshot) {
	t.Helper()
	diffList(t, who+": GET /messages (unread, oldest first)", got.Unread, want.Unread)
	diffList(t, who+": GET /conversations", got.Conversations, want.Conversations)
	peers := map[string]bool{}
	for p := range got.History {
		peers[p] = true
	}
	for p := range want.History {
		peers[p] = true
	}
	for p := range peers {
		diffList(t, who+": history with "+p, got.History[p], want.History[p])
	}
	for id, w := range want.Messages {
		if g, ok := got.Messages[id]; !ok {
			t.Errorf("%s: GET /messages/%s: missing, want %v", who, id, w)
		} else if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: GET /messages/%s:\n got %v\nwant %v", who, id, g, w)
		}
	}
	for id, g := range got.Messages {
		if _, ok := want.Messages[id]; !ok {
			t.Errorf("%s: GET /messages/%s = %v, want 404", who, id, g)
		}
	}
	if !slices.Equal(got.Hidden, want.Hidden) {
		t.Errorf("%s: ids answered 404 %v, want %v", who, got.Hidden, want.Hidden)
	}
}

func diffList[T any](t *testing.T, what string, got, want []T) {
	t.Helper()
	if reflect.DeepEqual(got, want) || len(got) == 0 && len(want) == 0 {
		return
	}
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		g, w := "-", "-"
		if i < len(got) {
			g = fmt.Sprintf("%+v", got[i])
		}
		if i < len(want) {
			w = fmt.Sprintf("%+v", want[i])
		}
		mark := "  "
		if g != w {
			mark = "! "
		}
		fmt.Fprintf(&b, "%s[%d]\n     got %s\n    want %s\n", mark, i, g, w)
	}
	t.Errorf("%s: %d items, want %d:\n%s", what, len(got), len(want), b.String())
}

// within reports whether s (RFC 3339) is within d of now.
func within(t *testing.T, field, s string, d time.Duration) bool {
	t.Helper()
	at := parseTime(t, field, s)
	return time.Since(at).Abs() <= d
}
