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
