package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/adapters/kafka"
	"github.com/tidings-chat/tidings/adapters/postgres"
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
	pub, err := kafka.NewEventLog(b.kafka, log)
	if err != nil {
		return err
	}
	defer pub.Close()

	tracker := projections.NewTracker(b.views)
	var limiter *commands.RateLimiter
	if c.SendPerSecond > 0 {
		limiter = commands.NewRateLimiter(c.SendPerSecond, c.SendBurst, nil)
	}
	marks, err := kafka.NewWatermarks(b.kafka)
	if err != nil {
		return err
	}
	defer marks.Close()
	cmds, err := commands.New(commands.Deps{
		Log: countingLog{pub, metrics}, Accounts: b.accounts, SendLog: b.sends, Messages: b.views, Limiter: limiter,
		Sync: viewSync{marks: marks, tracker: tracker, partitions: b.kafka.Partitions, wait: c.ConsistencyWait},
	})
	if err != nil {
		return err
	}
	hub, err := ws.NewHub(ws.Config{OriginPatterns: list(c.WSOrigins)}, ws.Deps{
		Commands: cmds, UserFrom: httpapi.UserFrom, MessageJSON: httpapi.MessageJSON,
		Views: b.views, Positions: b.views, Partitions: b.kafka.Partitions, Logger: log,
	})
	if err != nil {
		return err
	}
	projector := projections.NewProjector(b.views, tracker, projectionMetrics{metrics})
	receipts := projections.NewReceipts(countingLog{pub, metrics})
	api := httpapi.New(httpapi.Config{OpenRegistration: c.OpenRegistration, ConsistencyWait: c.ConsistencyWait, MetricsToken: c.MetricsToken}, httpapi.Deps{
		Commands: cmds, Views: b.views, Users: b.accounts, Tracker: tracker, Ready: b.ping, Metrics: metrics, Logger: log,
		Extra: hub.Mount, UI: webui.Handler(),
	})

	// The background loops: the views projector and the receipts projector
	// (one consumer group each, shared by every process), the push tail
	// (every process reads every event and pushes, once the views have it,
	// to its own connections), and send-log pruning.
	bg := newLoops(log)
	defer bg.stop()
	bg.run("views projector", func(ctx context.Context) error {
		return kafka.Consume(ctx, b.kafka, group(projections.ViewsGroup, b.kafka.Topic), projector.Handle, log)
	})
	bg.run("receipts projector", func(ctx context.Context) error {
		return kafka.Consume(ctx, b.kafka, group(projections.ReceiptsGroup, b.kafka.Topic), receipts.Handle, log)
	})
	applied, err := b.views.AppliedPositions(ctx)
	if err != nil {
		return fmt.Errorf("read applied positions: %w", err)
	}
	tailFrom := map[int32]int64{}
	for p, off := range applied {
		tailFrom[p] = off + 1
	}
	var draining atomic.Bool
	tailing := make(chan struct{})
	var tailOnce sync.Once
	tailStarted := func() { tailOnce.Do(func() { close(tailing) }) }
	bg.run("push tail", func(ctx context.Context) error {
		return kafka.Tail(ctx, b.kafka, tailFrom, func(ctx context.Context, ev domain.Event, pos domain.Position) error {
			// Push only what the views hold, and never give up on an
			// event: while the projector is held up (a rebalance after a
			// node died), this partition's pushes wait with it.
			for {
				err := tracker.Wait(ctx, pos, 10*time.Second)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				log.Warn("push waits: the views have not reached the event yet", "pos", pos.String())
			}
			hub.Applied(ctx, ev, pos)
			return nil
		}, tailStarted, log)
	})
	b.checks["draining"] = func(context.Context) error {
		if draining.Load() {
			return errors.New("shutting down")
		}
		return nil
	}
	b.checks["push tail"] = func(context.Context) error {
		select {
		case <-tailing:
			return nil
		default:
			return errors.New("not reading the log yet")
		}
	}
	if b.pg != nil {
		bg.run("send-log pruning", func(ctx context.Context) error { pruneSendLog(ctx, b.pg, log); return nil })
	}

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
		MaxHeaderBytes:    16 << 10,
	}
	// Shutdown does not track upgraded connections: tell them to reconnect.
	srv.RegisterOnShutdown(hub.Close)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
// hourly, until ctx ends.
func pruneSendLog(ctx context.Context, pg *postgres.DB, log *slog.Logger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		n, err := pg.PruneSendLog(ctx, postgres.DefaultSendLogRetention)
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
