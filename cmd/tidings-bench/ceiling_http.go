package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// bareServer is an HTTP server in this process on a random loopback port,
// with nothing of tidings behind it: the ceilings' reference point.
type bareServer struct {
	base string // http://127.0.0.1:PORT
	srv  *http.Server
	done chan struct{}
}

// startBare serves h on 127.0.0.1:0 until stop.
func startBare(h http.Handler) (*bareServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bare server: %w", err)
	}
	b := &bareServer{base: "http://" + l.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{})}
	go func() { _ = b.srv.Serve(l); close(b.done) }()
	return b, nil
}

// stop closes the listener and every connection (hijacked WebSocket
// connections are the handler's to close).
func (b *bareServer) stop() {
	_ = b.srv.Close()
	<-b.done
}

// bareSend is the body the bare POST handler decodes: the fields of a
// POST /messages body.
type bareSend struct {
	To          string `json:"to"`
	Text        string `json:"text"`
	ClientMsgID string `json:"client_msg_id"`
}

// bareMessagesHandler answers POST /messages like the real one in shape
// only: it decodes the JSON body and answers a small JSON object (id,
// client_msg_id, status), with no authentication, storage or log.
func bareMessagesHandler() http.Handler {
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /messages", func(w http.ResponseWriter, r *http.Request) {
		var in bareSend
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.To == "" {
			http.Error(w, `{"error":{"code":"malformed_json","message":"bad body"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			ID          string `json:"id"`
			ClientMsgID string `json:"client_msg_id"`
			Status      string `json:"status"`
		}{ID: "bare" + strconv.FormatInt(n.Add(1), 10), ClientMsgID: in.ClientMsgID, Status: "sent"})
	})
	return mux
}

// ceilingHTTP measures the bare-HTTP ceiling for d: bareMessagesHandler
// in this process, hammered through the full run's REST client (api.send:
// same transport settings, JSON encoding, headers and response decoding)
// from -concurrency goroutines over as many keep-alive connections, each
// body a POST /messages body of -size text (≈ 150 bytes at -size 100).
func ceilingHTTP(ctx context.Context, c *config, d time.Duration) (*ceilingResult, error) {
	bare, err := startBare(bareMessagesHandler())
	if err != nil {
		return nil, err
	}
	defer bare.stop()
	errs := &errorCounts{}
	a := newAPI(bare.base, c.Concurrency, errs)
	defer a.hc.CloseIdleConnections()
	from := user{ID: "bench-from", Token: "bare-token"}
	to := "01KBARE0000000000000000000" // the length of a real user id
	body := 0
	h := pound(ctx, c.Concurrency, d, func(ctx context.Context, i int64) error {
		cid := "bare-" + strconv.FormatInt(i, 10)
		text := padText("bench bare "+cid+" ", c.TextSize)
		if i == 1 {
			b, _ := json.Marshal(bareSend{To: to, Text: text, ClientMsgID: cid})
			body = len(b)
		}
		id, err := a.send(ctx, from, to, text, cid, func() { errs.add("retry") })
		if err == nil && id == "" {
			err = errors.New("answer without id")
		}
		return err
	})
	target := fmt.Sprintf("bare net/http POST /messages in this process (%s, ≈ %d-byte JSON body, JSON answer)", bare.base, body)
	res := h.result("http", target, "requests", c.Concurrency)
	if h.firstErr == nil && errs.total() > 0 {
		res.FirstError = fmt.Sprintf("errors by code: %v", errs.snapshot())
	}
	return res, nil
}
