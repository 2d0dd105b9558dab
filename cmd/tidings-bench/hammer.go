package main

import (
	"context"
	"strconv"
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
	cpu       time.Duration // this process's CPU over the run
	lat       *histogram
	firstErr  error
}

// rate is operations per second.
func (h hammered) rate() float64 { return float64(h.n) / h.secs }

// result turns h into a ceilingResult.
func (h hammered) result(kind, target, unit string, concurrency int) *ceilingResult {
	r := &ceilingResult{Kind: kind, Target: target, Unit: unit, Concurrency: concurrency, Seconds: h.secs,
		Ops: h.n, Failed: h.failed, Rate: h.rate(), Latency: h.lat.Summary(),
		CPUMicrosPerOp: perMessage(float64(h.cpu.Microseconds()), h.n)}
	if h.firstErr != nil {
		r.FirstError = h.firstErr.Error()
	}
	return r
}

// pound calls op from concurrency goroutines until d is over (or ctx
// ends), numbering the calls 1, 2, … across goroutines, and records the
// latency of the calls that succeed. op gets a context that ends with the
// run; an op that returns an error counts as failed (the first error is
// kept) unless the run was over by then.
func pound(ctx context.Context, concurrency int, d time.Duration, op func(ctx context.Context, i int64) error) hammered {
	lat := newHistogram()
	var (
		n, failed, next atomic.Int64
		firstErr        atomic.Pointer[error]
		wg              sync.WaitGroup
	)
	cpu0, start := selfCPU(), time.Now() // before the deadline is set: the run lasts at least d
	rctx, stop := context.WithTimeout(ctx, d)
	defer stop()
	for range concurrency {
		wg.Go(func() {
			for rctx.Err() == nil {
				i := next.Add(1)
				t := time.Now()
				if err := op(rctx, i); err != nil {
					if rctx.Err() != nil {
						return // cut short by the end of the run
					}
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
	h := hammered{n: n.Load(), failed: failed.Load(), secs: time.Since(start).Seconds(), cpu: selfCPU() - cpu0, lat: lat}
	if p := firstErr.Load(); p != nil {
		h.firstErr = *p
	}
	return h
}

// hammer runs op like pound for -duration from -concurrency goroutines,
// each call with a fresh message between 1,000 users, numbered i. op
// should not be cut short by the end of the run: it gets no context.
func hammer(ctx context.Context, c *config, op func(i int64, ev domain.MessageSent) error) hammered {
	users := make([]domain.UserID, 1000)
	for i := range users {
		users[i] = domain.UserID(domain.NewID(time.Now()))
	}
	text := strings.Repeat("x", c.TextSize)
	return pound(ctx, c.Concurrency, c.Duration, func(_ context.Context, i int64) error {
		at := time.Now().UTC().Truncate(time.Millisecond)
		ev := domain.MessageSent{ID: domain.MessageID(domain.NewID(at)), From: users[i%1000], To: users[(i+1)%1000],
			Text: text, ClientMsgID: "c" + strconv.FormatInt(i, 10), SentAt: at}
		return op(i, ev)
	})
}
