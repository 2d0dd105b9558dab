package httpapi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/domain"
)

// serveTCP runs the API on 127.0.0.1 the way cmd/tidings does: an
// http.Server with MaxHeaderBytes httpapi.ServerMaxHeaderBytes over
// httpapi.Listener. It returns the address.
func serveTCP(t *testing.T, h *harness) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h.api, ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: httpapi.ServerMaxHeaderBytes}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(httpapi.Listener(ln)) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return ln.Addr().String()
}

// head returns a GET /healthz request head of exactly n bytes (request
// line, header lines and the blank line), padded by an X-Pad header.
func head(n int) string {
	const start = "GET /healthz HTTP/1.1\r\nHost: tidings.test\r\nX-Pad: "
	const end = "\r\n\r\n"
	return start + strings.Repeat("a", n-len(start)-len(end)) + end
}

// rawResponses writes raw to a new connection and reads want responses.
func rawResponses(t *testing.T, addr, raw string, want int) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(c, raw) }() // the server may answer before it read everything
	br := bufio.NewReader(c)
	var out []*http.Response
	for range want {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("read response %d: %v", len(out)+1, err)
		}
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("read body of response %d: %v", len(out)+1, err)
		}
		res.Body = io.NopCloser(strings.NewReader(string(body)))
		out = append(out, res)
	}
	return out
}

// expectHeadersTooLarge fails t unless res is the 431 JSON error.
func expectHeadersTooLarge(t *testing.T, res *http.Response) {
	t.Helper()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d (%s), want 431", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q (body %q), want application/json", ct, body)
	}
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != domain.CodeHeadersTooLarge || e.Error.Message == "" {
		t.Fatalf("body %q (%v), want the %s JSON error", body, err, domain.CodeHeadersTooLarge)
	}
}

// TestHeaderLimitIsExactAndJSON: a request head of MaxHeaderBytes (16 KiB)
// is served, one byte more is 431 as the JSON error, whatever the size
// and also when the request was read ahead on a reused connection.
func TestHeaderLimitIsExactAndJSON(t *testing.T) {
	if httpapi.MaxHeaderBytes != 16<<10 {
		t.Fatalf("MaxHeaderBytes %d, docs/api.md says 16 KiB", httpapi.MaxHeaderBytes)
	}
	addr := serveTCP(t, newHarness(t, httpapi.Config{}, nil))
	t.Run("at the limit", func(t *testing.T) {
		res := rawResponses(t, addr, head(httpapi.MaxHeaderBytes), 1)[0]
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200", res.StatusCode)
		}
	})
	for _, n := range []int{httpapi.MaxHeaderBytes + 1, httpapi.MaxHeaderBytes + 4096, 64 << 10, 1 << 20} {
		t.Run(fmt.Sprintf("%d bytes", n), func(t *testing.T) {
			expectHeadersTooLarge(t, rawResponses(t, addr, head(n), 1)[0])
		})
	}
	t.Run("read ahead on a kept-alive connection", func(t *testing.T) {
		// The first request is small: the server's reader buffers the start
		// of the second one before its limit applies.
		res := rawResponses(t, addr, head(100)+head(httpapi.MaxHeaderBytes+2000), 2)
		if res[0].StatusCode != http.StatusOK {
			t.Fatalf("first request: status %d, want 200", res[0].StatusCode)
		}
		expectHeadersTooLarge(t, res[1])
	})
	t.Run("at the limit on a kept-alive connection", func(t *testing.T) {
		res := rawResponses(t, addr, head(100)+head(httpapi.MaxHeaderBytes), 2)
		if res[0].StatusCode != http.StatusOK || res[1].StatusCode != http.StatusOK {
			t.Fatalf("statuses %d, %d, want 200, 200", res[0].StatusCode, res[1].StatusCode)
		}
	})
}

// The wrapper Listener puts on each connection keeps the descriptor
// reachable (syscall.Conn): the WebSocket reader of an idle connection
// waits for readability through it instead of holding a read buffer.
func TestListenerKeepsTheFileDescriptor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wrapped := httpapi.Listener(ln)
	defer wrapped.Close()
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	c, err := wrapped.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatal("an accepted connection does not implement syscall.Conn")
	}
	if _, err := sc.SyscallConn(); err != nil {
		t.Fatalf("SyscallConn: %v", err)
	}
}
