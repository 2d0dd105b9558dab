package ws

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

type nopLog struct{ n atomic.Int64 }

func (l *nopLog) Append(_ context.Context, _ domain.Event) (domain.Position, error) {
	return domain.Position{Offset: l.n.Add(1)}, nil
}

// benchServer is the REST API with the real Hub on /ws over the in-memory
// store, served on loopback; writes counts the server's socket writes
// (each one write syscall, bar partial writes to a full socket).
type benchServer struct {
	cmds   commands.Commands
	hub    *Hub
	url    string
	writes atomic.Int64
}

func newBenchServer(b *testing.B, cfg Config) *benchServer {
	b.Helper()
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
	hub, err := NewHub(cfg, Deps{Commands: cmds, UserFrom: httpapi.UserFrom, MessageJSON: httpapi.AppendMessageJSON,
		Views: views, Positions: views, Partitions: 1, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	s := &benchServer{cmds: cmds, hub: hub}
	srv := httptest.NewUnstartedServer(httpapi.New(httpapi.Config{}, httpapi.Deps{Commands: cmds, Views: views, Logger: quiet, Extra: hub.Mount}))
	srv.Listener = countingListener{Listener: srv.Listener, writes: &s.writes}
	srv.Start()
	b.Cleanup(srv.Close)
	b.Cleanup(hub.Close)
	s.url = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	return s
}

// register creates n users and returns their ids and tokens.
func (s *benchServer) register(b *testing.B, n int) ([]domain.UserID, []string) {
	b.Helper()
	ids, tokens := make([]domain.UserID, n), make([]string, n)
	for i := range n {
		r, err := s.cmds.RegisterUser.Handle(context.Background(), commands.RegisterUser{Name: fmt.Sprintf("u%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		ids[i], tokens[i] = r.User.ID, r.Token
	}
	return ids, tokens
}

// BenchmarkFanout is the hub pushing applied events to connected clients
// over real loopback WebSockets: each op is one MessageSent handed to
// Hub.Push and written to every device of its recipient, counted when
// the client has read it. users×devices connections, all on one hub.
// writes/frame is the server's socket writes per frame pushed: 1 when
// every frame is its own write, less when frames queued for one
// connection are coalesced; cpu-µs/frame is the CPU time of the whole
// process (hub and clients) per frame, steadier than frames/s on a shared
// machine. "burst" hands the hub 16 events for one
// recipient at a time (a busy conversation), which is where coalescing
// applies.
//
//	go test -run '^$' -bench Fanout -benchtime 20000x ./adapters/ws/
func BenchmarkFanout(b *testing.B) {
	for _, tc := range []struct{ users, devices, burst int }{{1000, 1, 1}, {125, 8, 1}, {100, 1, 16}} {
		b.Run(fmt.Sprintf("users=%d/devices=%d/burst=%d", tc.users, tc.devices, tc.burst), func(b *testing.B) {
			benchFanout(b, tc.users, tc.devices, tc.burst)
		})
	}
}

func benchFanout(b *testing.B, users, devices, burst int) {
	s := newBenchServer(b, Config{})
	ids, tokens := s.register(b, users)
	var got atomic.Int64
	for i := range users {
		for range devices {
			c, _, err := websocket.Dial(context.Background(), s.url, &websocket.DialOptions{Subprotocols: []string{Subprotocol, "bearer." + tokens[i]}})
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
	writes0, cpu0 := s.writes.Load(), cpuTime()
	b.ResetTimer()
	for i := range b.N {
		to := ids[(i/burst)%users]
		ev := domain.MessageSent{ID: domain.MessageID(domain.NewID(at)), From: from, To: to, Text: text, SentAt: at}
		_, item, _ := projections.FeedItemOf(ev, domain.Position{Offset: int64(i + 1)})
		s.hub.Push(context.Background(), []projections.FeedItem{item})
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
	b.ReportMetric(float64(s.writes.Load()-writes0)/float64(want), "writes/frame")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(want), "cpu-µs/frame")
}

// cpuTime is the user and system CPU time this process has used (server
// and clients: the clients' share does not change with the server's).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
