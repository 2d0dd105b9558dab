package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runner is one benchmark run.
type runner struct {
	cfg    *config
	runID  string
	base   string
	api    *api
	ledger *ledger
	errs   *errorCounts
	users  []user
	devs   [][]*device
	srv    *server
	lag    *histogram
	series []point
	fatal  atomic.Pointer[error]
	// devCtx is the devices' readers' context (they reconnect until it
	// ends); closeAll ends it with stopDevs.
	devCtx   context.Context
	stopDevs context.CancelFunc
	// Test hooks' counters (config.dropReadAck, dropReceipt).
	hookReadAcks, hookReceipts atomic.Int64
}

// run executes the whole benchmark and returns its results; err is set
// when the run could not be carried out (verification failures are in the
// results).
func run(ctx context.Context, c *config, out io.Writer) (*results, error) {
	env := newRunEnv(ctx)
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	r := &runner{cfg: c, runID: hex.EncodeToString(id), base: strings.TrimSuffix(c.Addr, "/"), errs: &errorCounts{},
		ledger: newLedger(c.Users, c.Devices), lag: newHistogram()}
	if c.Spawn {
		srv, err := startServer(ctx, c, r.runID, out)
		if err != nil {
			return nil, err
		}
		defer srv.stop()
		r.srv, r.base = srv, srv.addr
		fmt.Fprintf(out, "server log: %s\n", srv.log.Name())
	}
	r.api = newAPI(r.base, c.Users+16, r.errs)
	fmt.Fprintf(out, "run %s against %s: %d users × %d devices, rate %s, %v via %s\n",
		r.runID, r.base, c.Users, c.Devices, rateText(c.Rate), c.Duration, c.Via)

	users, err := r.api.register(ctx, "b"+r.runID, c.Users+2)
	if err != nil {
		return nil, fmt.Errorf("%w (is the server up at %s?)", err, r.base)
	}
	r.users = users[:c.Users]
	probe := users[c.Users:]
	if err := r.connectAll(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "registered %d users, %d devices connected\n", c.Users, c.Users*c.Devices)

	var ceil *ceilings
	if c.WithCeilings {
		if ceil, err = r.measureCeilings(ctx, out); err != nil {
			return nil, err
		}
	}

	var cpu0 uint64
	var size0 int64
	self0 := selfCPU()
	if r.srv != nil {
		cpu0, size0 = r.srv.cpu(), dirSize(r.srv.dataDir)
	} else if c.ServerPID > 0 {
		cpu0, _ = cpuTicks(c.ServerPID)
	}
	start := time.Now()
	sendCtx, stopSends := context.WithDeadline(ctx, start.Add(c.Duration))
	defer stopSends()
	// Sends of a message already scheduled may retry into the drain.
	retryCtx, stopRetries := context.WithDeadline(ctx, start.Add(c.Duration+c.Drain))
	defer stopRetries()

	var wg sync.WaitGroup
	stopProgress, progressDone := make(chan struct{}), make(chan struct{})
	go func() { r.progress(out, start, stopProgress); close(progressDone) }()
	if c.LagProbe > 0 {
		wg.Go(func() { r.probeLag(sendCtx, probe[0], probe[1]) })
	}
	var faults []faultEvent
	if c.Fault != "" {
		wg.Go(func() { faults = r.injectFaults(ctx, sendCtx, start, out) })
	}
	for u := range r.users {
		wg.Go(func() { r.sender(sendCtx, retryCtx, u, start) })
	}
	wg.Wait()
	sendEnd := time.Now()

	// Drain: wait until every accepted message and read got where it goes.
	deadline := time.Now().Add(c.Drain)
	for time.Now().Before(deadline) && !r.ledger.settled() && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	drained := time.Since(sendEnd)
	self1 := selfCPU()
	close(stopProgress)
	<-progressDone
	res := r.results(start, sendEnd, drained)
	res.Client.CPUSeconds = (self1 - self0).Seconds()
	res.Client.CPUMicrosPerMessage = perMessage(float64((self1 - self0).Microseconds()), res.Counts.Accepted)
	if ceil != nil {
		ceil.fractions(res.Throughput)
		res.Ceilings = ceil
	}
	if !r.ledger.settled() {
		res.Verification.DrainTimedOut = true
		res.Verification.Problems = append([]string{fmt.Sprintf(
			"DRAIN TIMED OUT after %v: deliveries or receipts were still outstanding; what is missing may be late rather than lost (overload?)", c.Drain)},
			res.Verification.Problems...)
	}
	r.diagnose(ctx, &res.Verification)
	res.Faults = faults
	for _, f := range faults {
		res.Server.Restarts += f.Restarts
	}
	if r.srv != nil || c.ServerPID > 0 {
		var cpu1 uint64
		if r.srv != nil {
			cpu1 = r.srv.cpu()
			res.Server.BytesPerMessage = perMessage(float64(dirSize(r.srv.dataDir)-size0), res.Counts.Accepted)
			res.Server.DataDir = r.srv.dataDir
		} else {
			cpu1, _ = cpuTicks(c.ServerPID)
		}
		res.Server.CPUSeconds = float64(cpu1-cpu0) / ticksPerSecond
		res.Server.CPUMicrosPerMessage = perMessage(res.Server.CPUSeconds*1e6, res.Counts.Accepted)
	}
	r.closeAll()
	env.done()
	res.Env = env
	if p := r.fatal.Load(); p != nil {
		return res, *p
	}
	return res, nil
}

func (r *runner) setFatal(err error) { r.fatal.CompareAndSwap(nil, &err) }

func perMessage(total float64, msgs int64) float64 {
	if msgs == 0 {
		return 0
	}
	return total / float64(msgs)
}

// connectWorkers bounds the registrations and WebSocket handshakes in
// flight at once.
const connectWorkers = 32

// connectAll opens every device's socket and waits for its ready frame,
// connectWorkers at a time. Each device then keeps one goroutine, its
// reader (device.serve).
func (r *runner) connectAll(ctx context.Context) error {
	var frames atomic.Int64
	r.devCtx, r.stopDevs = context.WithCancel(context.WithoutCancel(ctx))
	r.devs = make([][]*device, len(r.users))
	var all []*device
	for u, usr := range r.users {
		for d := range r.cfg.Devices {
			dev := newDevice(r, usr, u, d, &frames)
			r.devs[u] = append(r.devs[u], dev)
			all = append(all, dev)
		}
	}
	return forEach(ctx, len(all), connectWorkers, func(ctx context.Context, i int) error {
		dev := all[i]
		c, err := dev.connect(ctx)
		if err != nil {
			return fmt.Errorf("device %d: %w", dev.index, err)
		}
		go dev.serve(r.devCtx, c)
		t := time.NewTimer(30 * time.Second)
		defer t.Stop()
		select {
		case <-dev.ready():
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return fmt.Errorf("device %d: no ready frame within 30 s", dev.index)
		}
	})
}

// forEach calls f(ctx, i) for i in [0, n) from at most workers goroutines
// and returns the first error; after an error it starts no further calls
// and ends the ctx of those running.
func forEach(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// shouldRead says whether the recipient marks message seq read.
func (r *runner) shouldRead(seq int) bool {
	return float64((seq*7919)%1000) < r.cfg.ReadFrac*1000
}

// sender sends user u's messages on its schedule: every users/rate seconds,
// offset so that users interleave. A late send goes at once and its
// latency still counts from its scheduled time (open loop). With rate 0 it
// sends back to back.
func (r *runner) sender(ctx, retryCtx context.Context, u int, start time.Time) {
	var interval time.Duration
	if r.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(r.cfg.Users) / r.cfg.Rate)
	}
	offset := time.Duration(0)
	if interval > 0 {
		offset = interval * time.Duration(u) / time.Duration(r.cfg.Users)
	}
	peers := min(r.cfg.Peers, r.cfg.Users-1)
	retried := func() { r.ledger.count(func(s *counters) { s.Retries++ }) }
	wait := time.NewTimer(time.Hour) // one timer for the whole schedule
	defer wait.Stop()
	var buf []byte
	for seq := 0; ; seq++ {
		at := time.Now()
		if interval > 0 {
			at = start.Add(offset + time.Duration(seq)*interval)
			if d := time.Until(at); d > 0 {
				wait.Reset(d)
				select {
				case <-ctx.Done():
					return
				case <-wait.C:
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		to := (u + 1 + seq%peers) % r.cfg.Users
		buf = strconv.AppendInt(append(append(buf[:0], r.runID...), '-'), int64(u), 10)
		buf = strconv.AppendInt(append(buf, '-'), int64(seq), 10)
		cid := string(buf)
		buf = append(append(append(buf[:0], "bench "...), r.runID...), ' ')
		buf = strconv.AppendInt(buf, int64(u), 10)
		buf = strconv.AppendInt(append(buf, "->"...), int64(to), 10)
		buf = strconv.AppendInt(append(buf, " #"...), int64(seq), 10)
		buf = padBytes(append(buf, ' '), r.cfg.TextSize)
		text := string(buf)
		r.ledger.scheduled(cid, u, to, seq, at)
		var (
			id  string
			err error
		)
		if r.cfg.Via == "ws" {
			id, err = r.devs[u][0].send(retryCtx, r.users[to].ID, text, cid)
		} else {
			id, err = r.api.send(retryCtx, r.users[u], r.users[to].ID, text, cid, retried)
		}
		if errors.Is(err, errRateLimited) {
			r.setFatal(err)
			return
		}
		if err == nil {
			r.ledger.accepted(cid, id, time.Now())
		}
		if r.fatal.Load() != nil {
			return
		}
	}
}

// padBytes pads or cuts b to n bytes with 'x' (appending in place).
func padBytes(b []byte, n int) []byte {
	if len(b) >= n {
		return b[:n]
	}
	for len(b) < n {
		b = append(b, 'x')
	}
	return b
}

func padText(s string, n int) string {
	if len(s) >= n {
		return s[:n]
	}
	return s + strings.Repeat("x", n-len(s))
}

func rateText(rate float64) string {
	if rate == 0 {
		return "as fast as accepted"
	}
	return fmt.Sprintf("%.0f msg/s", rate)
}
