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
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tidings-chat/tidings/adapters/datakeys"
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
	log.Info("tidings starting", readBuildInfo().logAttrs()...)
	warnUnknownEnv(log)
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
	limits, err := newRateLimits(c, b.pg)
	if err != nil {
		return err
	}
	// Message text is sealed with a key per author and conversation kept
	// beside the account, and opened only where clients are answered
	// (views and pushes hold ciphertext): deleting an account erases its
	// text everywhere (docs/privacy.md).
	keys, err := datakeys.New(b.keys, datakeys.Config{}, log)
	if err != nil {
		return err
	}
	reader := datakeys.Reader{Reader: b.views, Keys: keys}
	cmds, err := commands.New(commands.Deps{
		Log: appender, Accounts: b.accounts, SendLog: b.sends, Messages: reader, Limiter: limits.send, Sync: vs,
		Sealer: keys, SessionLifetime: c.SessionLifetime,
	})
	if err != nil {
		return err
	}
	// Typing and presence: who may see whose presence (conversation
	// peers), over the accounts' store and the views.
	presence := &commands.PresenceQuery{Store: b.presence, Settings: b.settings, Users: b.accounts, Talked: projections.Talked(b.views)}
	hub, err := ws.NewHub(ws.Config{OriginPatterns: list(c.WSOrigins)}, ws.Deps{
		Commands: cmds, UserFrom: httpapi.UserFrom, SessionFrom: httpapi.SessionFrom, MessageJSON: httpapi.AppendMessageJSON,
		Views: reader, Positions: b.views, Partitions: b.partitions, Logger: log,
		Presence: presence, Relay: b.relay,
	})
	if err != nil {
		return err
	}
	bi := readBuildInfo()
	metrics.SetBuildInfo(bi.Version, bi.Revision, bi.Go)
	metrics.WatchWebSockets(hub.Open)
	proxies, _ := c.trustedProxies() // validated by parse
	api := httpapi.New(httpapi.Config{OpenRegistration: c.OpenRegistration, ConsistencyWait: c.ConsistencyWait, MetricsToken: c.MetricsToken,
		Partitions: b.partitions, TrustedProxies: proxies}, httpapi.Deps{
		Commands: cmds, Views: reader, Users: b.accounts, Tracker: tracker, Ready: b.ping, Metrics: metrics, Logger: log,
		Extra: hub.Mount, UI: webui.Handler(), Limits: limits.http, SignedOut: hub.Revoke, AccountDeleted: hub.RevokeUser,
		Presence: presence, SettingsChanged: hub.SettingsChanged,
	})

	// The background loops: the views pipeline (one consumer per
	// partition: views, receipts, pushes in one pass), and send-log
	// pruning. Pushes reach this node's connections through the fanout:
	// straight from the pipeline when this process owns the whole log
	// (embedded); when several processes share Kafka, from a tail of every
	// partition that waits for the views, so a user connected to any node
	// hears of events that any node projected.
	fan := &projections.Fanout{Tracker: tracker, Push: datakeys.OpenPush(keys, hub.Push), Views: b.views, Log: log}
	rounds := 1 // the embedded store applies one batch at a time
	if c.CassandraHosts != "" {
		rounds = 4 // Cassandra's writes wait on the network: overlap a few rounds
	}
	pipe := &projections.Pipeline{Store: b.views, Log: appender, Tracker: tracker, Observe: observeBatch(metrics), Rounds: rounds,
		Rejected: func(r projections.Record, err error) {
			log.Error("event refused: no tidings command writes it; check who can write to the log",
				"pos", r.Pos.String(), "type", r.Event.Type(), "err", err)
		}}
	bg := newLoops(log)
	defer bg.stop()
	// A loop that stopped (say a push tail whose partition consumer closed)
	// is restarted; until its restart has run steadily the node is not
	// ready, so a node that cannot push does not take connections.
	b.checks["background loops"] = bg.health
	if b.embedded {
		pipe.Push = fan.Applied
	} else {
		runPushTails(bg, fan, b.stream, b.partitions, applied)
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
	if b.pg != nil {
		bg.run("rate-bucket pruning", func(ctx context.Context) error { pruneBuckets(ctx, limits.shared, log); return nil })
	}

	if p, ok := b.accounts.(sessionPruner); ok {
		bg.run("session pruning", func(ctx context.Context) error { pruneSessions(ctx, p, log); return nil })
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
		MaxHeaderBytes:    httpapi.ServerMaxHeaderBytes, // plus net/http's 4 KiB slack: 16 KiB
	}
	// Shutdown does not track upgraded connections: tell them to reconnect.
	srv.RegisterOnShutdown(hub.Close)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(httpapi.Listener(ln)) }()
	where := describeListener(ln.Addr())
	log.Info("tidings listening", "addr", ln.Addr().String(), "api", where.api, "web_client", where.web,
		"interfaces", where.interfaces, "data", c.Data, "open_registration", c.OpenRegistration)

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

// listenerInfo says where a listening server is reachable.
type listenerInfo struct {
	api, web   string // URLs of the REST API and of the web client
	interfaces string // which network interfaces the address covers
}

// describeListener tells an operator where addr is reachable: an
// unspecified host (":8080", "0.0.0.0:8080", "[::]:8080") listens on every
// interface, so other machines can connect; a loopback host only this
// machine. The URLs use localhost for an unspecified host.
func describeListener(addr net.Addr) listenerInfo {
	host, port := addr.String(), ""
	var ip net.IP
	if ta, ok := addr.(*net.TCPAddr); ok {
		ip, port = ta.IP, strconv.Itoa(ta.Port)
		host = ip.String()
	}
	var li listenerInfo
	switch {
	case ip == nil || ip.IsUnspecified():
		host = "localhost"
		li.interfaces = "all (every network interface: reachable from other machines; --addr 127.0.0.1:" + port + " keeps it to this one)"
	case ip.IsLoopback():
		li.interfaces = "loopback only (this machine)"
	default:
		li.interfaces = "only " + ip.String()
	}
	base := "http://" + net.JoinHostPort(host, port)
	li.api, li.web = base, base+"/"
	return li
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
