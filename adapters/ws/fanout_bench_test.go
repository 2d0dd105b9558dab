package ws_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/adapters/ws"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

type nopLog struct{ n atomic.Int64 }

func (l *nopLog) Append(_ context.Context, _ domain.Event) (domain.Position, error) {
	return domain.Position{Offset: l.n.Add(1)}, nil
}

// BenchmarkFanout is the hub pushing applied events to connected clients
// over real loopback WebSockets: each op is one MessageSent handed to
// Hub.Push and written to every device of its recipient, counted when
// the client has read it. users×devices connections, all on one hub.
//
//	go test -run '^$' -bench Fanout -benchtime 20000x ./adapters/ws/
func BenchmarkFanout(b *testing.B) {
	for _, tc := range []struct{ users, devices int }{{1000, 1}, {125, 8}} {
		b.Run(fmt.Sprintf("users=%d/devices=%d", tc.users, tc.devices), func(b *testing.B) {
			benchFanout(b, tc.users, tc.devices)
		})
	}
}

func benchFanout(b *testing.B, users, devices int) {
	db, err := embedded.OpenInMemory()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	views := db.Views()
	cmds, err := commands.New(commands.Deps{Log: &nopLog{}, Accounts: db.Accounts(), SendLog: db.SendLog(), Messages: views})
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub, err := ws.NewHub(ws.Config{}, ws.Deps{Commands: cmds, UserFrom: httpapi.UserFrom, MessageJSON: httpapi.MessageJSON,
		Views: views, Positions: views, Partitions: 1, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{}, httpapi.Deps{Commands: cmds, Views: views, Logger: quiet, Extra: hub.Mount}))
	b.Cleanup(srv.Close)
	b.Cleanup(hub.Close)

	var got atomic.Int64
	ids := make([]domain.UserID, users)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	for i := range users {
		r, err := cmds.RegisterUser.Handle(context.Background(), commands.RegisterUser{Name: fmt.Sprintf("u%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = r.User.ID
		for range devices {
			c, _, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{Subprotocols: []string{ws.Subprotocol, "bearer." + r.Token}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = c.CloseNow() })
			ready := make(chan struct{})
			go func() {
				for n := 0; ; n++ {
					_, msg, err := c.Read(context.Background())
					if err != nil {
						return
					}
					if n == 0 && strings.Contains(string(msg), `"ready"`) {
						close(ready)
						continue
					}
					got.Add(1)
				}
			}()
			<-ready
		}
	}
	from := ids[0]
	at := time.Now().UTC().Truncate(time.Millisecond)
	text := strings.Repeat("x", 100)
	want := int64(0)
	b.ResetTimer()
	for i := range b.N {
		to := ids[i%users]
		ev := domain.MessageSent{ID: domain.MessageID(domain.NewID(at)), From: from, To: to, Text: text, SentAt: at}
		_, item, _ := projections.FeedItemOf(ev, domain.Position{Offset: int64(i + 1)})
		hub.Push(context.Background(), []projections.FeedItem{item})
		want += int64(devices)
		// Bound frames in flight so no queue (256 per connection) overflows.
		for want-got.Load() > int64(users*devices*64) {
			time.Sleep(50 * time.Microsecond)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	if got.Load() != want {
		b.Fatalf("clients read %d frames, want %d", got.Load(), want)
	}
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "frames/s")
}
