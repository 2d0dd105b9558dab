package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// countingLog is an event log that only counts: it measures the HTTP and
// command path without a broker.
type countingLog struct{ n atomic.Int64 }

func (l *countingLog) Append(_ context.Context, _ domain.Event) (domain.Position, error) {
	return domain.Position{Partition: 0, Offset: l.n.Add(1)}, nil
}

// BenchmarkSendHandler is POST /messages through the real router,
// authentication, decoding, validation and send log (in-memory Pebble),
// with an event log that only counts; with and without client_msg_id.
// It runs in-process (httptest.ResponseRecorder), so no socket costs.
//
//	go test -run '^$' -bench 'SendHandler|BareJSON' -benchmem ./adapters/httpapi/
func BenchmarkSendHandler(b *testing.B) {
	for _, withID := range []bool{false, true} {
		b.Run(fmt.Sprintf("client_msg_id=%v", withID), func(b *testing.B) {
			db, err := embedded.OpenInMemory()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = db.Close() })
			views := db.Views()
			cmds, err := commands.New(commands.Deps{Log: &countingLog{}, Accounts: db.Accounts(), SendLog: db.SendLog(), Messages: views})
			if err != nil {
				b.Fatal(err)
			}
			api := httpapi.New(httpapi.Config{}, httpapi.Deps{Commands: cmds, Views: views,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			var tokens []string
			var ids []domain.UserID
			for i := range 64 {
				r, err := cmds.RegisterUser.Handle(context.Background(), commands.RegisterUser{Name: fmt.Sprintf("u%d", i)})
				if err != nil {
					b.Fatal(err)
				}
				tokens, ids = append(tokens, r.Token), append(ids, r.User.ID)
			}
			text := strings.Repeat("x", 100)
			var seq atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					from, to := int(n%64), int((n+1)%64)
					body := map[string]string{"to": string(ids[to]), "text": text}
					if withID {
						body["client_msg_id"] = fmt.Sprintf("c%d", n)
					}
					raw, _ := json.Marshal(body)
					req := httptest.NewRequest(http.MethodPost, "/messages", bytes.NewReader(raw))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+tokens[from])
					w := httptest.NewRecorder()
					api.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Errorf("status %d: %s", w.Code, w.Body)
						return
					}
				}
			})
		})
	}
}

// BenchmarkBareJSONHandler is the ceiling for comparison: a net/http
// handler that decodes a JSON body like POST /messages and answers JSON,
// over real loopback HTTP/1.1 keep-alive connections (64 clients).
func BenchmarkBareJSONHandler(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]string
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"id": "01M8B1QD6N1FB7JWSADHT788G0", "to": req["to"], "text": req["text"]})
	}))
	b.Cleanup(srv.Close)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	raw, _ := json.Marshal(map[string]string{"to": "01M8B1QCVMF1DRTYN159HXJJ7T", "text": strings.Repeat("x", 100)})
	var once sync.Once
	b.SetParallelism(32)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := hc.Post(srv.URL, "application/json", bytes.NewReader(raw))
			if err != nil {
				once.Do(func() { b.Error(err) })
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
