package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// positionHeader is the read-your-writes header of the API.
const positionHeader = "X-Tidings-Position"

// maxPositionsPerRequest is how many positions one request may name.
const maxPositionsPerRequest = 16

var positionFormat = regexp.MustCompile(`^(\d+)-(\d+)$`)

// positions remembers the highest position of every partition that a
// command response named, so that later reads can wait for them. Safe for
// concurrent use.
type positions struct {
	mu  sync.Mutex
	max map[int64]int64
}

func newPositions() *positions { return &positions{max: map[int64]int64{}} }

// add records a position header value; it fails t if the value is not
// "<partition>-<offset>".
func (p *positions) add(t *testing.T, h string) {
	t.Helper()
	m := positionFormat.FindStringSubmatch(h)
	if m == nil {
		t.Errorf("%s = %q, want <partition>-<offset>", positionHeader, h)
		return
	}
	part, _ := strconv.ParseInt(m[1], 10, 32)
	off, _ := strconv.ParseInt(m[2], 10, 64)
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur, ok := p.max[part]; !ok || off > cur {
		p.max[part] = off
	}
}

// headers returns the recorded positions as header values of at most
// maxPositionsPerRequest positions each.
func (p *positions) headers() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	parts := make([]int64, 0, len(p.max))
	for part := range p.max {
		parts = append(parts, part)
	}
	slices.Sort(parts)
	var out []string
	for len(parts) > 0 {
		n := min(len(parts), maxPositionsPerRequest)
		vals := make([]string, n)
		for i, part := range parts[:n] {
			vals[i] = fmt.Sprintf("%d-%d", part, p.max[part])
		}
		out = append(out, strings.Join(vals, ","))
		parts = parts[n:]
	}
	return out
}

// api is an HTTP client of one server. Authenticated requests send every
// position recorded so far (read-your-writes), so reads see all writes the
// test made; responses with a position are recorded.
type api struct {
	base string
	hc   *http.Client
	pos  *positions
	// model, when set, learns from every GET /messages page that the
	// messages it returns are delivered now (the fetch marks them so).
	model *model
}

func newAPI(t *testing.T, s *server, pos *positions) *api {
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	t.Cleanup(tr.CloseIdleConnections)
	return &api{base: s.URL, hc: &http.Client{Timeout: 20 * time.Second, Transport: tr}, pos: pos}
}

// user is a registered account.
type user struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

// request is one API call.
type request struct {
	Method, Path string
	Token        string      // "" sends no Authorization header
	Body         []byte      // nil sends no body
	ContentType  string      // defaults to application/json when Body is set; noContentType sends none
	Header       http.Header // extra headers; a position header here replaces the recorded ones
	NoWait       bool        // send no recorded positions
}

// noContentType as request.ContentType sends a body without Content-Type.
const noContentType = "-"

// response is a fully read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	req    request
}

func (r response) String() string {
	return fmt.Sprintf("%s %s -> %d %s", r.req.Method, r.req.Path, r.Status, bytes.TrimSpace(r.Body))
}

// do sends req. A read answered with "X-Tidings-Stale: true" (the views had
// not caught up within the server's wait) is retried for a while, then
// fails the test.
func (a *api) do(t *testing.T, req request) response {
	t.Helper()
	var waitFor []string
	if req.Token != "" && !req.NoWait && req.Header.Get(positionHeader) == "" {
		waitFor = a.pos.headers()
		// Only the last chunk rides on req; earlier ones are awaited first.
		for len(waitFor) > 1 {
			a.roundTrip(t, request{Method: http.MethodGet, Path: "/conversations?limit=1", Token: req.Token,
				Header: http.Header{positionHeader: {waitFor[0]}}})
			waitFor = waitFor[1:]
		}
	}
	if len(waitFor) == 1 {
		req.Header = req.Header.Clone()
		if req.Header == nil {
			req.Header = http.Header{}
		}
		req.Header.Set(positionHeader, waitFor[0])
	}
	return a.roundTrip(t, req)
}

func (a *api) roundTrip(t *testing.T, req request) response {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res := a.once(t, req)
		if res.Header.Get("X-Tidings-Stale") != "true" || req.Method == http.MethodPost {
			if h := res.Header.Get(positionHeader); h != "" {
				a.pos.add(t, h)
			}
			if a.model != nil && req.Method == http.MethodGet && res.Status == http.StatusOK &&
				(req.Path == "/messages" || strings.HasPrefix(req.Path, "/messages?")) {
				a.model.delivered(t, res.Body)
			}
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: views still stale (X-Tidings-Stale) after 15s waiting for %s",
				req.Method, req.Path, req.Header.Get(positionHeader))
		}
	}
}

func (a *api) once(t *testing.T, req request) response {
	t.Helper()
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequest(req.Method, a.base+req.Path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	switch {
	case req.ContentType == noContentType:
	case req.ContentType != "":
		hr.Header.Set("Content-Type", req.ContentType)
	case req.Body != nil:
		hr.Header.Set("Content-Type", "application/json")
	}
	if req.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.Token)
	}
	res, err := a.hc.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.Path, err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b, req: req}
}

// get, post, patch and put are the common calls as u. A post body that is
// a []byte or string is sent as is; anything else is encoded as JSON.
func (a *api) get(t *testing.T, u user, path string) response {
	t.Helper()
	return a.do(t, request{Method: http.MethodGet, Path: path, Token: u.Token})
}

func (a *api) post(t *testing.T, u user, path string, body any) response {
	t.Helper()
	return a.do(t, request{Method: http.MethodPost, Path: path, Token: u.Token, Body: jsonBody(t, body)})
}

func (a *api) patch(t *testing.T, u user, path string) response {
	t.Helper()
	return a.do(t, request{Method: http.MethodPatch, Path: path, Token: u.Token})
}

func (a *api) put(t *testing.T, u user, path string, body any) response {
	t.Helper()
	return a.do(t, request{Method: http.MethodPut, Path: path, Token: u.Token, Body: jsonBody(t, body)})
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return nil
	case []byte:
		return v
	case string:
		return []byte(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode request: %v", err)
	}
	return b
}

// register creates user name and checks the 201 answer.
func (a *api) register(t *testing.T, name string) user {
	t.Helper()
	res := a.post(t, user{}, "/users", map[string]string{"name": name})
	expectStatus(t, res, http.StatusCreated)
	u := decode[user](t, res)
	if !validID(u.ID) || u.Name != name || !strings.HasPrefix(u.Token, "tdg_") || len(u.Token) < 20 {
		t.Fatalf("POST /users %q = %+v, want a 26-character id, the name and a tdg_ token", name, u)
	}
	return u
}

var idFormat = regexp.MustCompile(`^[0-7][0-9A-HJKMNP-TV-Z]{25}$`)

func validID(s string) bool { return idFormat.MatchString(s) }

// expectStatus fails t unless res has the status.
func expectStatus(t *testing.T, res response, status int) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("%v, want status %d", res, status)
	}
}

// errorBody is the JSON of every error.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// expectError checks that res is an error with the status and code.
func expectError(t *testing.T, res response, status int, code string) {
	t.Helper()
	if res.Status != status {
		t.Errorf("%v, want %d %s", res, status, code)
		return
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%v: Content-Type %q, want application/json", res, ct)
	}
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(res.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Errorf("%v: body is not {\"error\":{\"code\",\"message\"}}: %v", res, err)
		return
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("%v: error code %q (message %q), want code %q and a message", res, e.Error.Code, e.Error.Message, code)
	}
}

// decode parses res's JSON body into a T.
func decode[T any](t *testing.T, res response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(res.Body, &v); err != nil {
		t.Fatalf("%v: decode %T: %v", res, v, err)
	}
	return v
}

// message is a message as the API shows it.
type message struct {
	ID          string  `json:"id"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	Text        string  `json:"text"`
	ClientMsgID *string `json:"client_msg_id"`
	SentAt      string  `json:"sent_at"`
	Status      string  `json:"status"`
	DeliveredAt *string `json:"delivered_at"`
	ReadAt      *string `json:"read_at"`
	Erased      bool    `json:"erased"`
}

func (m message) String() string {
	b, _ := json.Marshal(m)
	return string(b)
}

// sentAt parses m.SentAt.
func (m message) sentAt(t *testing.T) time.Time {
	t.Helper()
	return parseTime(t, "sent_at", m.SentAt)
}

func parseTime(t *testing.T, field, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s %q is not RFC 3339: %v", field, s, err)
	}
	return at
}

// messageFields are the keys of every message object.
var messageFields = []string{"client_msg_id", "delivered_at", "from", "id", "read_at", "sent_at", "status", "text", "to"}

// checkMessageShape fails t unless raw is an object with exactly the
// documented message fields.
func checkMessageShape(t *testing.T, raw []byte) {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("message %s: %v", raw, err)
	}
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if i := slices.Index(keys, "erased"); i >= 0 && string(obj["erased"]) == "true" {
		keys = slices.Delete(keys, i, i+1) // only on a message whose author left
	}
	if !slices.Equal(keys, messageFields) {
		t.Errorf("message fields %v, want %v", keys, messageFields)
	}
}

// conversation is one row of GET /conversations.
type conversation struct {
	Peer        string  `json:"peer"`
	LastMessage message `json:"last_message"`
	UnreadCount int     `json:"unread_count"`
}

var nextLink = regexp.MustCompile(`^<([^>]+)>;\s*rel="next"$`)

// collect reads every page of a list as u, following rel="next" links from
// path. For GET /messages a 204 is the empty list. It returns the items and
// the number of pages.
func collect[T any](t *testing.T, a *api, u user, path string) ([]T, int) {
	t.Helper()
	var all []T
	pages := 0
	for path != "" {
		res := a.get(t, u, path)
		pages++
		link := res.Header.Get("Link")
		switch res.Status {
		case http.StatusNoContent:
			if len(res.Body) != 0 || link != "" {
				t.Errorf("%v: 204 with a body or a Link %q", res, link)
			}
			if pages > 1 {
				t.Errorf("%v: a rel=next link led to an empty page", res)
			}
			return all, pages
		case http.StatusOK:
		default:
			t.Fatalf("%v, want 200", res)
		}
		items := decode[[]T](t, res)
		if len(items) == 0 && link != "" {
			t.Errorf("%v: empty page with a Link %q", res, link)
		}
		all = append(all, items...)
		path = ""
		if link != "" {
			m := nextLink.FindStringSubmatch(link)
			if m == nil {
				t.Fatalf("%v: Link %q, want <url>; rel=\"next\"", res, link)
			}
			next, err := url.Parse(m[1])
			if err != nil || next.Query().Get("cursor") == "" {
				t.Fatalf("Link %q has no cursor", link)
			}
			path = next.RequestURI()
		}
		if pages > 1000 {
			t.Fatalf("more than 1000 pages following %s", path)
		}
	}
	return all, pages
}
