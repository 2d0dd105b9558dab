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

// do sends one JSON request and decodes a 2xx answer into out.
func (a *api) do(ctx context.Context, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
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
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// register signs up n users named <prefix>-<i>, 16 at a time.
func (a *api) register(ctx context.Context, prefix string, n int) ([]user, error) {
	users := make([]user, n)
	errc := make(chan error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			name := fmt.Sprintf("%s-%d", prefix, i)
			if err := a.do(ctx, http.MethodPost, "/users", "", map[string]string{"name": name}, &users[i]); err != nil {
				errc <- fmt.Errorf("register %s: %w", name, err)
			}
		})
	}
	wg.Wait()
	close(errc)
	return users, <-errc
}

// send posts one message and retries transport failures and 5xx with the
// same client_msg_id until it succeeds or ctx ends. It returns the id.
func (a *api) send(ctx context.Context, from user, to, text, cid string, retried func()) (string, error) {
	body := map[string]string{"to": to, "text": text, "client_msg_id": cid}
	backoff := 20 * time.Millisecond
	for {
		var m restMessage
		err := a.do(ctx, http.MethodPost, "/messages", from.Token, body, &m)
		if err == nil {
			return m.ID, nil
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
