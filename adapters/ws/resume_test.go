package ws

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

func (e *env) send(t *testing.T, from, to user, text string) domain.MessageID {
	t.Helper()
	s, err := e.cmds.SendMessage.Handle(context.Background(), commands.SendMessage{From: from.id, To: to.id, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return s.Message.ID
}

func (e *env) dialSince(t *testing.T, u user, since string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url()+"?since="+since, &websocket.DialOptions{Subprotocols: []string{Subprotocol, "bearer." + u.token}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// untilReady reads frames up to and including the ready frame.
func untilReady(t *testing.T, c *websocket.Conn) (before []frame, ready frame) {
	t.Helper()
	for {
		f := read(t, c)
		if f.Type == TypeReady {
			return before, f
		}
		before = append(before, f)
	}
}

func TestConnectWithoutCursorGetsUnreadThenLive(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	m1, m2 := e.send(t, bob, alice, "one"), e.send(t, bob, alice, "two")
	e.waitFeed(t, alice, projections.FeedMessage, m2) // the views apply after the append returns
	c := e.dialRaw(t, alice)
	backlog, ready := untilReady(t, c)
	if len(backlog) != 2 || backlog[0].Message["id"] != string(m1) || backlog[1].Message["id"] != string(m2) {
		t.Fatalf("backlog %+v, want the two unread messages oldest first", backlog)
	}
	start, err := domain.ParsePosition(ready.Cursor)
	if err != nil {
		t.Fatalf("ready cursor %q: %v", ready.Cursor, err)
	}
	m3 := e.send(t, bob, alice, "three")
	f := read(t, c)
	cur, err := domain.ParsePosition(f.Cursor)
	if f.Type != TypeMessage || f.Message["id"] != string(m3) || err != nil || cur.Offset <= start.Offset {
		t.Fatalf("live frame %+v after ready cursor %s", f, ready.Cursor)
	}
}

func TestResumeSinceCursorSendsExactlyWhatWasMissed(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	c := e.dial(t, alice)
	first := e.send(t, bob, alice, "seen")
	f := read(t, c)
	if f.Message["id"] != string(first) {
		t.Fatalf("got %+v", f)
	}
	_ = c.CloseNow()
	eventually(t, 2*time.Second, "gone", func() bool { return e.hub.Connections(alice.id) == 0 })

	// While alice is away: two messages, and bob reads one of hers.
	var want []domain.MessageID
	for i := range 2 {
		want = append(want, e.send(t, bob, alice, fmt.Sprint("missed ", i)))
	}
	mine := e.send(t, alice, bob, "from alice")
	if _, err := e.cmds.MarkRead.Handle(context.Background(), commands.MarkRead{User: bob.id, ID: mine}); err != nil {
		t.Fatal(err)
	}
	e.waitFeed(t, alice, projections.FeedReceipt, mine) // the pipeline derives the receipt after the read

	c2 := e.dialSince(t, alice, f.Cursor)
	backlog, ready := untilReady(t, c2)
	var got []string
	last := f.Cursor
	for _, b := range backlog {
		cur, _ := domain.ParsePosition(b.Cursor)
		prev, _ := domain.ParsePosition(last)
		if cur.Offset <= prev.Offset {
			t.Fatalf("cursor %s does not follow %s", b.Cursor, last)
		}
		last = b.Cursor
		switch b.Type {
		case TypeMessage:
			got = append(got, "message "+b.Message["id"].(string))
		case TypeReceipt:
			got = append(got, b.Status+" "+b.ID)
		}
	}
	wantFrames := []string{"message " + string(want[0]), "message " + string(want[1]), "read " + string(mine)}
	if fmt.Sprint(got) != fmt.Sprint(wantFrames) {
		t.Fatalf("resumed backlog %v, want %v", got, wantFrames)
	}
	if ready.Cursor != last {
		t.Fatalf("ready cursor %s, want the last item's %s", ready.Cursor, last)
	}
}

func TestResumeUnderLiveTrafficMissesNothing(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	c := e.dial(t, alice)
	const total = 300
	var (
		mu   sync.Mutex
		sent []domain.MessageID
	)
	// The sender goroutine may not call t.Fatal (only the test's own may):
	// it stops at the first error, which the test reports after <-done.
	done := make(chan struct{})
	var sendErr error
	go func() {
		defer close(done)
		for i := range total {
			s, err := e.cmds.SendMessage.Handle(context.Background(), commands.SendMessage{From: bob.id, To: alice.id, Text: fmt.Sprint(i)})
			if err != nil {
				sendErr = fmt.Errorf("send %d: %w", i, err)
				return
			}
			mu.Lock()
			sent = append(sent, s.Message.ID)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { <-done }) // also when a read below fails the test
	seen := map[string]int{}
	var cursor string
	// Read a while, drop the connection, resume from the last cursor, twice.
	for round := range 3 {
		for range 60 {
			f := read(t, c)
			if f.Type == TypeMessage {
				seen[f.Message["id"].(string)]++
				cursor = f.Cursor
			}
		}
		_ = c.CloseNow()
		if round < 2 {
			c = e.dialSince(t, alice, cursor)
		}
	}
	<-done
	if sendErr != nil {
		t.Fatal(sendErr)
	}
	// The sends are appended; the views apply them moments later, in order.
	e.waitFeed(t, alice, projections.FeedMessage, sent[len(sent)-1])
	c = e.dialSince(t, alice, cursor)
	backlog, _ := untilReady(t, c)
	for _, f := range backlog {
		if f.Type == TypeMessage {
			seen[f.Message["id"].(string)]++
		}
	}
	for _, id := range sent {
		if seen[string(id)] == 0 {
			t.Fatalf("message %s was never pushed", id)
		}
		if seen[string(id)] > 1 {
			t.Fatalf("message %s pushed %d times", id, seen[string(id)])
		}
	}
}

// expiredFeed is a feed whose items before from are gone, as after
// Cassandra's 30-day TTL: Feed skips them, FeedKept follows the rule every
// store follows.
type expiredFeed struct {
	projections.Reader
	mu   sync.Mutex
	from int64 // items at lower offsets are gone
}

func (e *expiredFeed) Feed(ctx context.Context, u domain.UserID, after domain.Position, limit int) ([]projections.FeedItem, error) {
	e.mu.Lock()
	from := e.from
	e.mu.Unlock()
	if after.Offset < from-1 {
		after.Offset = from - 1
	}
	return e.Reader.Feed(ctx, u, after, limit)
}

func (e *expiredFeed) FeedKept(ctx context.Context, u domain.UserID, after domain.Position) (bool, error) {
	oldest, err := e.Feed(ctx, u, domain.Position{Partition: after.Partition, Offset: -1}, 1)
	if err != nil {
		return false, err
	}
	all, err := e.Reader.Feed(ctx, u, domain.Position{Partition: after.Partition, Offset: -1}, 1)
	if err != nil {
		return false, err
	}
	first := int64(-1)
	if len(all) > 0 {
		first = all[0].Cursor.Offset
	}
	return projections.FeedKeptRule(oldest, first, after), nil
}

// TestResumeAfterExpiredItemsResets: a cursor older than what the feed
// still holds gets the unread messages and a ready frame with reset, never
// the feed's remainder as if nothing had been missed; a cursor the feed
// still covers resumes as usual.
func TestResumeAfterExpiredItemsResets(t *testing.T) {
	ex := &expiredFeed{}
	e := newEnvHub(t, Config{}, nil, nil, func(r projections.Reader) projections.Reader { ex.Reader = r; return ex })
	alice, bob := e.register(t, "alice"), e.register(t, "bob")
	c := e.dialRaw(t, alice)
	_, ready0 := untilReady(t, c)
	m1 := e.send(t, bob, alice, "one")
	f1 := read(t, c)
	m2 := e.send(t, bob, alice, "two")
	f2 := read(t, c)
	m3 := e.send(t, bob, alice, "three")
	f3 := read(t, c)
	if f1.Message["id"] != string(m1) || f2.Message["id"] != string(m2) || f3.Message["id"] != string(m3) {
		t.Fatalf("pushes %+v %+v %+v", f1, f2, f3)
	}
	_ = c.CloseNow()
	p2, err := domain.ParsePosition(f2.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	ex.mu.Lock()
	ex.from = p2.Offset // m1's item expired
	ex.mu.Unlock()

	backlog, ready := untilReady(t, e.dialSince(t, alice, ready0.Cursor))
	if !ready.Reset {
		t.Fatalf("resume from before an expired item: ready %+v after %+v, want reset", ready, backlog)
	}
	if len(backlog) != 3 || backlog[0].Message["id"] != string(m1) || backlog[0].Cursor != "" {
		t.Fatalf("backlog after a reset %+v, want the three unread messages, m1 first", backlog)
	}

	if _, ready = untilReady(t, e.dialSince(t, alice, f1.Cursor)); !ready.Reset {
		t.Fatalf("resume from the expired item's own cursor: %+v, want reset (the feed cannot tell what followed it)", ready)
	}
	backlog, ready = untilReady(t, e.dialSince(t, alice, f2.Cursor))
	if ready.Reset || len(backlog) != 1 || backlog[0].Message["id"] != string(m3) {
		t.Fatalf("resume from a kept cursor: %+v then %+v, want m3 and no reset", backlog, ready)
	}
}
