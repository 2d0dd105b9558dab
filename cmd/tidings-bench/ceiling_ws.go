package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// barePushFrame is a message frame shaped like the product's (see
// docs/websocket.md) with a text of size bytes.
func barePushFrame(size int) []byte {
	return []byte(`{"type":"message","cursor":"7-1843","message":{"id":"01M8B1QD6N1FB7JWSADHT788G0",` +
		`"from":"01M8B1QCVA63ES9FVWWAQTKA3Q","to":"01M8B1QCVMF1DRTYN159HXJJ7T","text":"` + strings.Repeat("x", size) +
		`","client_msg_id":"bare-1","sent_at":"2026-11-26T04:31:07.123Z","status":"sent","delivered_at":null,"read_at":null}}`)
}

// barePushHandler accepts WebSocket connections (github.com/coder/websocket,
// as the product) and, once start is closed, writes frame to each as fast
// as it takes them from one goroutine per connection, each write with its
// own timeout as the product's hub does, until ctx ends.
func barePushHandler(ctx context.Context, start <-chan struct{}, frame []byte, wg *sync.WaitGroup) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"tidings.v1"}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		select {
		case <-start:
		case <-ctx.Done():
			return
		}
		for ctx.Err() == nil {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.Write(wctx, websocket.MessageText, frame)
			cancel()
			if err != nil {
				return
			}
		}
	})
}

// ceilingWS measures the bare WebSocket push ceiling for d: a server in
// this process writes message-shaped frames (-size text) to -concurrency
// clients, one writer goroutine per connection, and the clients read them
// with the full run's code (dialWS, readFrame). The rate is frames the
// clients received per second.
func ceilingWS(ctx context.Context, c *config, d time.Duration) (*ceilingResult, error) {
	sctx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	start := make(chan struct{})
	var writers sync.WaitGroup
	frame := barePushFrame(c.TextSize)
	bare, err := startBare(barePushHandler(sctx, start, frame, &writers))
	if err != nil {
		return nil, err
	}
	defer bare.stop()

	type client struct {
		conn   *websocket.Conn
		frames atomic.Int64
		_      [48]byte // its own cache line: counted from another core than its neighbour
	}
	clients := make([]*client, c.Concurrency)
	for i := range clients {
		conn, err := dialWS(ctx, bare.base, "bare-token", "")
		if err != nil {
			for _, cl := range clients[:i] {
				_ = cl.conn.CloseNow()
			}
			return nil, fmt.Errorf("ws ceiling: client %d: %w", i, err)
		}
		clients[i] = &client{conn: conn}
	}
	var readers sync.WaitGroup
	var bad atomic.Int64
	for _, cl := range clients {
		readers.Go(func() {
			var f inFrame
			for {
				err := readFrame(cl.conn, &f)
				if err == errBadFrame || (err == nil && f.Type != "message") {
					bad.Add(1)
					continue
				}
				if err != nil {
					return
				}
				cl.frames.Add(1)
			}
		})
	}
	count := func() (n int64) {
		for _, cl := range clients {
			n += cl.frames.Load()
		}
		return n
	}
	cpu0, t0 := selfCPU(), time.Now()
	close(start)
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	n, secs, cpu := count(), time.Since(t0).Seconds(), selfCPU()-cpu0
	stopServer()
	for _, cl := range clients {
		_ = cl.conn.CloseNow()
	}
	readers.Wait()
	writers.Wait()

	target := fmt.Sprintf("bare coder/websocket push in this process (%s, %d-byte message frames, 1 writer goroutine per connection)", bare.base, len(frame))
	res := &ceilingResult{Kind: "ws", Target: target, Unit: "frames", Concurrency: c.Concurrency, Seconds: secs, Ops: n,
		Failed: bad.Load(), Rate: float64(n) / secs, CPUMicrosPerOp: perMessage(float64(cpu.Microseconds()), n)}
	if res.Failed > 0 {
		res.FirstError = fmt.Sprintf("%d frames were not message frames", res.Failed)
	}
	return res, nil
}
