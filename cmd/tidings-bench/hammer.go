package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// hammered is what a ceiling run measured.
type hammered struct {
	n, failed int64
	secs      float64
	lat       *histogram
	firstErr  error
}

// rate is operations per second.
func (h hammered) rate() float64 { return float64(h.n) / h.secs }

// hammer runs op from c.Concurrency goroutines until c.Duration is over,
// each call with a fresh message between 1,000 users, numbered i, and
// records the latency of the calls that succeed.
func hammer(ctx context.Context, c *config, op func(i int64, ev domain.MessageSent) error) hammered {
	users := make([]domain.UserID, 1000)
	for i := range users {
		users[i] = domain.UserID(domain.NewID(time.Now()))
	}
	text := strings.Repeat("x", c.TextSize)
	lat := newHistogram()
	var (
		n, failed, next atomic.Int64
		firstErr        atomic.Pointer[error]
		wg              sync.WaitGroup
	)
	rctx, stop := context.WithTimeout(ctx, c.Duration)
	defer stop()
	start := time.Now()
	for range c.Concurrency {
		wg.Go(func() {
			for rctx.Err() == nil {
				i := next.Add(1)
				at := time.Now().UTC().Truncate(time.Millisecond)
				ev := domain.MessageSent{ID: domain.MessageID(domain.NewID(at)), From: users[i%1000], To: users[(i+1)%1000],
					Text: text, ClientMsgID: fmt.Sprintf("c%d", i), SentAt: at}
				t := time.Now()
				if err := op(i, ev); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				lat.Record(time.Since(t))
				n.Add(1)
			}
		})
	}
	wg.Wait()
	h := hammered{n: n.Load(), failed: failed.Load(), secs: time.Since(start).Seconds(), lat: lat}
	if p := firstErr.Load(); p != nil {
		h.firstErr = *p
	}
	return h
}
