package main

// WebSocket clients for the end-to-end tests: they dial /ws of a running
// server as a browser would (token offered as the "bearer.<token>"
// subprotocol) and read its frames in a goroutine of their own.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsSubprotocol is the protocol version the server selects (adapters/ws).
const wsSubprotocol = "tidings.v1"

// Timeouts of the WebSocket tests; generous for a loaded machine.
const (
	wsDialTimeout = 10 * time.Second
	wsFrameWait   = 10 * time.Second // for a frame that must come
	wsQuiet       = 300 * time.Millisecond
)

// wsFrame is any server frame: the union of the fields of message,
// receipt, read, ready and ack frames.
type wsFrame struct {
	Type     string          `json:"type"`
	Cursor   string          `json:"cursor"`
	Message  json.RawMessage `json:"message"`
	Status   string          `json:"status"`
	ID       string          `json:"id"`
	At       string          `json:"at"`
	Reset    bool            `json:"reset"`
	Ref      string          `json:"ref"`
	OK       bool            `json:"ok"`
	Error    *wsError        `json:"error"`
	Position string          `json:"position"`
	Peer     string          `json:"peer"`  // read_up_to
	UpTo     string          `json:"up_to"` // read_up_to

	raw []byte
}

type wsError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (f wsFrame) String() string { return string(f.raw) }

// msg decodes the message of a message or ack frame.
func (f wsFrame) msg(t *testing.T) message {
	t.Helper()
	var m message
	if err := json.Unmarshal(f.Message, &m); err != nil || m.ID == "" {
		t.Fatalf("frame %s: no message (%v)", f, err)
	}
	return m
}

// wsClient is one device's connection. Its reader goroutine queues every
// frame on frames until the connection ends, then records why in err and
// closes done.
type wsClient struct {
	name   string
	conn   *websocket.Conn
	frames chan wsFrame
	done   chan struct{}
	err    error // the error that ended reading; valid once done is closed
	// echoes keeps the "sent" frames of the user's own sends; without it
	// the reader drops them, so tests of other frames need not expect
	// them (wsDialEchoes).
	echoes bool
}

// wsURL is the /ws address of s, with ?since= when since is set.
func wsURL(s *server, since string) string {
	u := "ws://" + s.addr + "/ws"
	if since != "" {
		u += "?since=" + since
	}
	return u
}

// wsTryDial dials /ws of s offering protos as subprotocols, with header.
func wsTryDial(s *server, since string, protos []string, header http.Header) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wsDialTimeout)
	defer cancel()
	return websocket.Dial(ctx, wsURL(s, since), &websocket.DialOptions{Subprotocols: protos, HTTPHeader: header})
}

// wsDial connects u to s (resuming after since when set), checks that the
// server selected the tidings subprotocol and starts reading. The
// connection is dropped when the test ends.
func wsDial(t *testing.T, s *server, u user, since, name string) *wsClient {
	t.Helper()
	c, resp, err := wsTryDial(s, since, []string{wsSubprotocol, "bearer." + u.Token}, nil)
	if err != nil {
		t.Fatalf("%s: dial %s as %s: %v (%s)", name, wsURL(s, since), u.Name, err, wsRespSummary(resp))
	}
	if got := c.Subprotocol(); got != wsSubprotocol {
		t.Errorf("%s: selected subprotocol %q, want %q", name, got, wsSubprotocol)
	}
	if h := resp.Header.Get("Sec-WebSocket-Protocol"); strings.Contains(h, u.Token) {
		t.Errorf("%s: the server echoed the token in Sec-WebSocket-Protocol", name)
	}
	return wsStart(t, c, name)
}

// wsStart starts the reader of an open connection (dropping "sent"
// frames).
func wsStart(t *testing.T, c *websocket.Conn, name string) *wsClient {
	return wsStartWith(t, c, name, false)
}

// wsStartWith starts the reader of an open connection; echoes keeps the
// "sent" frames.
func wsStartWith(t *testing.T, c *websocket.Conn, name string, echoes bool) *wsClient {
	c.SetReadLimit(1 << 20)
	w := &wsClient{name: name, conn: c, frames: make(chan wsFrame, 8192), done: make(chan struct{}), echoes: echoes}
	t.Cleanup(func() { _ = c.CloseNow() })
	go w.read()
	return w
}

func (w *wsClient) read() {
	defer close(w.done)
	for {
		typ, b, err := w.conn.Read(context.Background())
		if err != nil {
			w.err = err
			return
		}
		f := wsFrame{raw: b}
		if typ != websocket.MessageText || json.Unmarshal(b, &f) != nil {
			f = wsFrame{Type: fmt.Sprintf("!undecodable (%v)", typ), raw: b}
		}
		if f.Type == "sent" && !w.echoes {
			continue
		}
		w.frames <- f
	}
}

// wsRespSummary describes a failed upgrade's response.
func wsRespSummary(resp *http.Response) string {
	if resp == nil {
		return "no response"
	}
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%s %s", resp.Status, bytes.TrimSpace(b))
}

// next returns the next frame, or false when none came within d or the
// connection ended with no frame left.
func (w *wsClient) next(d time.Duration) (wsFrame, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case f := <-w.frames:
		return f, true
	case <-timer.C:
		return wsFrame{}, false
	case <-w.done:
		select {
		case f := <-w.frames:
			return f, true
		default:
			return wsFrame{}, false
		}
	}
}

// must returns the next frame, failing t when none comes in wsFrameWait.
func (w *wsClient) must(t *testing.T, what string) wsFrame {
	t.Helper()
	f, ok := w.next(wsFrameWait)
	if !ok {
		t.Fatalf("%s: no frame within %v, want %s (connection: %s)", w.name, wsFrameWait, what, w.state())
	}
	return f
}

// state describes whether the connection is still open.
func (w *wsClient) state() string {
	select {
	case <-w.done:
		return fmt.Sprintf("ended: %v", w.err)
	default:
		return "open"
	}
}

// expect returns the next frame, failing t unless it has type typ.
func (w *wsClient) expect(t *testing.T, typ string) wsFrame {
	t.Helper()
	f := w.must(t, typ+" frame")
	if f.Type != typ {
		t.Fatalf("%s: frame %s, want a %s frame", w.name, f, typ)
	}
	return f
}

// ready reads the backlog up to and including the ready frame, which it
// returns with the frames before it.
func (w *wsClient) ready(t *testing.T) (wsFrame, []wsFrame) {
	t.Helper()
	var backlog []wsFrame
	for {
		f := w.must(t, "a ready frame")
		if f.Type == "ready" {
			return f, backlog
		}
		backlog = append(backlog, f)
	}
}

// resumed reads the frames of a resumed connection: the backlog, the
// ready frame, and live frames until want frames besides ready came (or
// 3 s passed after ready, or wsQuiet passed after the last one expected).
// It returns the frames other than ready, and ready.
func (w *wsClient) resumed(t *testing.T, want int) ([]wsFrame, wsFrame) {
	t.Helper()
	ready, items := w.ready(t)
	deadline := time.Now().Add(3 * time.Second)
	for len(items) < want && time.Now().Before(deadline) {
		if f, ok := w.next(time.Until(deadline)); ok {
			items = append(items, f)
		}
	}
	if f, ok := w.next(wsQuiet); ok {
		items = append(items, f)
	}
	return items, ready
}

// quiet fails t if a frame arrives within d.
func (w *wsClient) quiet(t *testing.T, d time.Duration, why string) {
	t.Helper()
	if f, ok := w.next(d); ok {
		t.Errorf("%s: unexpected frame %s (%s)", w.name, f, why)
	}
}

// send writes v as one JSON text frame.
func (w *wsClient) send(t *testing.T, v any) {
	t.Helper()
	w.write(t, websocket.MessageText, jsonBody(t, v))
}

func (w *wsClient) write(t *testing.T, typ websocket.MessageType, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsFrameWait)
	defer cancel()
	if err := w.conn.Write(ctx, typ, b); err != nil {
		t.Fatalf("%s: write frame: %v", w.name, err)
	}
}

// ack reads frames up to the ack of ref and returns it with the frames
// that came before it (pushes may precede the ack).
func (w *wsClient) ack(t *testing.T, ref string) (wsFrame, []wsFrame) {
	t.Helper()
	var before []wsFrame
	for {
		f := w.must(t, "the ack of "+strconv.Quote(ref))
		if f.Type == "ack" && f.Ref == ref {
			return f, before
		}
		if f.Type == "ack" {
			t.Fatalf("%s: ack %s, want the ack of ref %q", w.name, f, ref)
		}
		before = append(before, f)
	}
}

// closed waits up to d for the connection to end and returns its close
// code, or -1 when it ended without a close frame.
func (w *wsClient) closed(t *testing.T, d time.Duration) websocket.StatusCode {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		select {
		case <-w.frames: // drain what the server wrote before closing
		case <-w.done:
			return websocket.CloseStatus(w.err)
		case <-deadline.C:
			t.Fatalf("%s: still open %v later, want it closed", w.name, d)
		}
	}
}

// wsCursor parses a "<partition>-<offset>" cursor.
func wsCursor(t *testing.T, c string) (part, off int64) {
	t.Helper()
	m := positionFormat.FindStringSubmatch(c)
	if m == nil {
		t.Fatalf("cursor %q is not <partition>-<offset>", c)
	}
	part, _ = strconv.ParseInt(m[1], 10, 32)
	off, _ = strconv.ParseInt(m[2], 10, 64)
	return part, off
}

// wsCursorAfter fails t unless cursor b is on a's partition and after it.
func wsCursorAfter(t *testing.T, a, b, what string) {
	t.Helper()
	pa, oa := wsCursor(t, a)
	pb, ob := wsCursor(t, b)
	if pa != pb || ob <= oa {
		t.Errorf("%s: cursor %s after %s, want a later offset of the same partition", what, b, a)
	}
}

// wsRESTSender posts messages from goroutines other than the test's (it
// returns errors instead of failing a t).
type wsRESTSender struct {
	hc   *http.Client
	base string
}

func newWSRESTSender(t *testing.T, s *server) *wsRESTSender {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &wsRESTSender{hc: &http.Client{Timeout: 20 * time.Second, Transport: tr}, base: s.URL}
}

// send posts text from one user to another and returns the message.
func (r *wsRESTSender) send(from, to user, text string) (message, error) {
	body, _ := json.Marshal(map[string]string{"to": to.ID, "text": text})
	req, err := http.NewRequest(http.MethodPost, r.base+"/messages", bytes.NewReader(body))
	if err != nil {
		return message{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+from.Token)
	res, err := r.hc.Do(req)
	if err != nil {
		return message{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return message{}, err
	}
	if res.StatusCode != http.StatusOK {
		return message{}, fmt.Errorf("POST /messages: %s %s", res.Status, bytes.TrimSpace(b))
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return message{}, err
	}
	if m.ID == "" {
		return message{}, errors.New("POST /messages: answer has no id")
	}
	return m, nil
}

// wsSendREST sends text from one user to another over REST as the test.
func wsSendREST(t *testing.T, a *api, from, to user, text string) message {
	t.Helper()
	res := a.post(t, from, "/messages", map[string]string{"to": to.ID, "text": text})
	expectStatus(t, res, http.StatusOK)
	return decode[message](t, res)
}

// wsSecondServer starts another "tidings serve" process on in's topic,
// keyspace and PostgreSQL database but with a data directory of its own:
// with the real backends the data directory holds nothing shared, so two
// processes of one deployment need two of them.
func (in *instance) wsSecondServer(t *testing.T, o serverOptions) *server {
	t.Helper()
	other := &instance{bin: in.bin, dir: t.TempDir(), common: in.common, runs: in.runs}
	s := other.start(t, o)
	in.runs = other.runs
	return s
}
