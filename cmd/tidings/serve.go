package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/adapters/webui"
	"github.com/tidings-chat/tidings/adapters/ws"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// serve runs the API and the views projector until ctx ends (SIGTERM or
// SIGINT), then drains: it stops accepting, finishes in-flight requests,
// stops the projector and closes the backends.
func serve(ctx context.Context, args []string) error {
	c, err := parse("serve", args)
	if err != nil {
		return err
	}
	log := c.logger()
	if c.CPUProfile != "" {
		stop, err := startCPUProfile(c.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	b, err := openBackends(ctx, c, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := b.Close(); err != nil {
			log.Error("close backends", "err", err)
		}
	}()

	metrics := httpapi.NewMetrics()
	// With the embedded log this process applies every partition itself,
	// so its tracker learns of every position at once; with Kafka, other
	// nodes project some partitions and the tracker polls the views.
	var polled projections.PositionSource
	if !b.embedded {
		polled = b.views
	}
	tracker := projections.NewTracker(polled)
	applied, err := b.views.AppliedPositions(ctx)
	if err != nil {
		return fmt.Errorf("read applied positions: %w", err)
	}
	for p, off := range applied {
		tracker.Advance(domain.Position{Partition: p, Offset: off})
	}
	vs := projections.NewViewSync(tracker, b.partitions, c.ConsistencyWait)
	appender := countingLog{vs.Log(b.log), metrics}
	var limiter *commands.RateLimiter
	if c.SendPerSecond > 0 {
		limiter = commands.NewRateLimiter(c.SendPerSecond, c.SendBurst, nil)
	}
	cmds, err := commands.New(commands.Deps{
		Log: appender, Accounts: b.accounts, SendLog: b.sends, Messages: b.views, Limiter: limiter, Sync: vs,
	})
	if err != nil {
		return err
	}
	hub, err := ws.NewHub(ws.Config{OriginPatterns: list(c.WSOrigins)}, ws.Deps{
		Commands: cmds, UserFrom: httpapi.UserFrom, MessageJSON: httpapi.MessageJSON,
		Views: b.views, Positions: b.views, Partitions: b.partitions, Logger: log,
	})
	if err != nil {
		return err
	}
	api := httpapi.New(httpapi.Config{OpenRegistration: c.OpenRegistration, ConsistencyWait: c.ConsistencyWait, MetricsToken: c.MetricsToken, Partitions: b.partitions}, httpapi.Deps{
		Commands: cmds, Views: b.views, Users: b.accounts, Tracker: tracker, Ready: b.ping, Metrics: metrics, Logger: log,
		Extra: hub.Mount, UI: webui.Handler(),
	})

	// The background loops: the views pipeline (one consumer per
	// partition: views, receipts, pushes in one pass), and send-log
	// pruning. Pushes reach this node's connections through the fanout:
	// straight from the pipeline when this process owns the whole log
	// (embedded); when several processes share Kafka, from a tail of every
	// partition that waits for the views, so a user connected to any node
	// hears of events that any node projected.
	fan := &projections.Fanout{Tracker: tracker, Push: hub.Push, Views: b.views, Log: log}
	pipe := &projections.Pipeline{Store: b.views, Log: appender, Tracker: tracker, Observe: observeBatch(metrics),
		Rejected: func(r projections.Record, err error) {
			log.Error("event refused: no tidings command writes it; check who can write to the log",
				"pos", r.Pos.String(), "type", r.Event.Type(), "err", err)
		}}
	bg := newLoops(log)
	defer bg.stop()
	if b.embedded {
		pipe.Push = fan.Applied
	} else {
		for p := range b.partitions {
			from := int64(0)
			if off, ok := applied[p]; ok {
				from = off + 1
			}
			bg.run(fmt.Sprintf("push tail %d", p), func(ctx context.Context) error {
				// Restarted where its pushes stand, not where it began.
				var err error
				from, err = fan.Follow(ctx, b.stream, p, from)
				return err
			})
		}
	}
	bg.run("views pipeline", func(ctx context.Context) error {
		return b.stream.Consume(ctx, group(projections.ViewsGroup, b.topic), projections.StartAfter(b.views), pipe.Handle)
	})
	var draining atomic.Bool
	b.checks["draining"] = func(context.Context) error {
		if draining.Load() {
			return errors.New("shutting down")
		}
		return nil
	}
	bg.run("send-log pruning", func(ctx context.Context) error { pruneSendLog(ctx, b.sends, log); return nil })

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    httpapi.ServerMaxHeaderBytes, // plus net/http's 4 KiB slack: 16 KiB
	}
	// Shutdown does not track upgraded connections: tell them to reconnect.
	srv.RegisterOnShutdown(hub.Close)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(httpapi.Listener(ln)) }()
	log.Info("tidings listening", "addr", ln.Addr().String(), "data", c.Data, "open_registration", c.OpenRegistration)

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	// Drain: report not ready first (load balancers stop sending), then stop
	// accepting, finish in-flight requests, and tell WebSocket clients to
	// reconnect elsewhere (1001).
	draining.Store(true)
	if c.DrainDelay > 0 {
		log.Info("draining: readiness off", "for", c.DrainDelay)
		time.Sleep(c.DrainDelay)
	}
	log.Info("shutting down: draining requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("shutdown", "err", err)
	}
	hub.Close() // and wait: the connections read the stores closed next
	return nil
}

// pruneSendLog drops client_msg_id reservations older than the retention,
// hourly, in whichever send log the node uses
// (embedded or PostgreSQL alike), until ctx ends.
func pruneSendLog(ctx context.Context, sends commands.SendLog, log *slog.Logger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		n, err := sends.Prune(ctx, commands.SendLogRetention)
		if err != nil && ctx.Err() == nil {
			log.Warn("prune send log", "err", err)
		} else if n > 0 {
			log.Info("pruned send log", "records", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// loops runs background loops until stop, which cancels and waits for them.
type loops struct {
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newLoops(log *slog.Logger) *loops {
	ctx, cancel := context.WithCancel(context.Background())
	return &loops{log: log, ctx: ctx, cancel: cancel}
}

// run runs fn until the loops stop, starting it again (after a pause that
// grows to 10 s) whenever it returns early: a consumer that failed to start
// (say, a topic whose partition leaders are still being elected) must not
// stay dead while the node reports ready.
func (l *loops) run(name string, fn func(ctx context.Context) error) {
	l.wg.Go(func() {
		pause := 200 * time.Millisecond
		for l.ctx.Err() == nil {
			err := fn(l.ctx)
			if l.ctx.Err() != nil {
				return
			}
			l.log.Error(name+" stopped; restarting", "err", err, "in", pause)
			select {
			case <-l.ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, 10*time.Second)
		}
	})
}

func (l *loops) stop() { l.cancel(); l.wg.Wait() }

// group names a projector's consumer group for a topic, so that
// deployments sharing a Kafka cluster with topics of their own (tests,
// staging) never share a group.
func group(base, topic string) string { return base + "." + topic }

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}
