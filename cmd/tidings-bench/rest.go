package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// errRateLimited stops the run: a rate-limited server measures its limiter,
// not itself.
var errRateLimited = errors.New("the server answered 429 rate_limited: start it with --send-rate 0 (or a limit far above -rate / -users per user)")

// api is the REST client of the run.
type api struct {
	base string
	hc   *http.Client
	errs *errorCounts
}

func newAPI(base string, conns int, errs *errorCounts) *api {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &api{base: base, hc: &http.Client{Transport: tr, Timeout: 15 * time.Second}, errs: errs}
}

type user struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

type restMessage struct {
	ID          string  `json:"id"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	Text        string  `json:"text"`
	ClientMsgID *string `json:"client_msg_id"`
	Status      string  `json:"status"`
}

type apiError struct {
	Status int
	Code   string `json:"code"`
	Msg    string `json:"message"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Msg) }

// answerBufs holds the buffers answers are read into.
var answerBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// roundTrip sends one request with body (nil: none) and hands the body of
// a 2xx answer to read, which must not keep it; any other answer is an
// *apiError.
func (a *api) roundTrip(ctx context.Context, method, path, token string, body []byte, read func(answer []byte) error) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header["Content-Type"] = jsonContentType
	}
	if token != "" {
		req.Header["Authorization"] = []string{"Bearer " + token}
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf := answerBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledFrame {
			answerBufs.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return err
	}
	b := buf.Bytes()
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error apiError `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		e.Error.Status = resp.StatusCode
		if e.Error.Code == "" {
			e.Error.Code = fmt.Sprintf("http_%d", resp.StatusCode)
		}
		return &e.Error
	}
	if read == nil {
		return nil
	}
	return read(b)
}

var jsonContentType = []string{"application/json"}

// do sends one JSON request and decodes a 2xx answer into out (nil: drop
// it).
func (a *api) do(ctx context.Context, method, path, token string, body, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	return a.roundTrip(ctx, method, path, token, b, func(answer []byte) error {
		if out != nil && len(answer) > 0 {
			return json.Unmarshal(answer, out)
		}
		return nil
	})
}

// register signs up n users named <prefix>-<i>, connectWorkers at a
// time.
func (a *api) register(ctx context.Context, prefix string, n int) ([]user, error) {
	users := make([]user, n)
	err := forEach(ctx, n, connectWorkers, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("%s-%d", prefix, i)
		if err := a.do(ctx, http.MethodPost, "/users", "", map[string]string{"name": name}, &users[i]); err != nil {
			return fmt.Errorf("register %s: %w", name, err)
		}
		return nil
	})
	return users, err
}

// send posts one message and retries transport failures and 5xx with the
// same client_msg_id until it succeeds or ctx ends. It returns the id.
func (a *api) send(ctx context.Context, from user, to, text, cid string, retried func()) (string, error) {
	body := appendSendBody(make([]byte, 0, 64+len(to)+len(text)+len(cid)), to, text, cid)
	backoff := 20 * time.Millisecond
	for {
		var id string
		err := a.roundTrip(ctx, http.MethodPost, "/messages", from.Token, body, func(answer []byte) error {
			var err error
			id, err = answerID(answer)
			return err
		})
		if err == nil {
			return id, nil
		}
		var ae *apiError
		if errors.As(err, &ae) {
			a.errs.add(ae.Code)
			if ae.Status == http.StatusTooManyRequests {
				return "", errRateLimited
			}
			if ae.Status < 500 {
				return "", err
			}
		} else {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			a.errs.add("transport")
		}
		retried()
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

// appendSendBody appends the POST /messages body
// {"to":…,"text":…,"client_msg_id":…}.
func appendSendBody(b []byte, to, text, cid string) []byte {
	b = append(b, `{"to":`...)
	b = domain.AppendJSONString(b, to)
	b = append(b, `,"text":`...)
	b = domain.AppendJSONString(b, text)
	b = append(b, `,"client_msg_id":`...)
	b = domain.AppendJSONString(b, cid)
	return append(b, '}')
}

// answerID is the top-level "id" of a JSON object answer (the message of
// POST /messages), decoding nothing else.
func answerID(b []byte) (string, error) {
	var id string
	err := eachField(b, func(key []byte, esc bool, raw []byte) (err error) {
		if esc {
			if key, err = unescapedKey(key); err != nil {
				return err
			}
		}
		if string(key) == "id" {
			id, _, err = rawString(raw)
		}
		return err
	})
	if err == nil && id == "" {
		err = errors.New("answer without id")
	}
	return id, err
}

// errorCounts counts errors by code. Safe for concurrent use.
type errorCounts struct {
	mu sync.Mutex
	m  map[string]int64
}

func (e *errorCounts) add(code string) {
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string]int64{}
	}
	e.m[code]++
	e.mu.Unlock()
}

func (e *errorCounts) snapshot() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int64{}
	for k, v := range e.m {
		out[k] = v
	}
	return out
}

func (e *errorCounts) total() (n int64) {
	for _, v := range e.snapshot() {
		n += v
	}
	return n
}
