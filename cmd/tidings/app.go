package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tidings-chat/tidings/adapters/datakeys"
	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/adapters/kafka"
	"github.com/tidings-chat/tidings/adapters/postgres"
	"github.com/tidings-chat/tidings/adapters/ws"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// backends are the adapters one process uses, embedded or real. This file
// is the only place that picks and builds them.
type backends struct {
	// log appends events; stream reads them; partitions is their count.
	log        commands.EventLog
	stream     projections.Stream
	partitions int32
	// topic names the log in group names and the shard catalog.
	topic    string
	embedded bool // the log is the embedded one (one process owns it)
	views    projections.Store
	accounts commands.Accounts
	keys     datakeys.Store // beside the accounts: DeleteUser erases them
	sends    commands.SendLog
	// Presence and privacy: last seen and settings where the accounts
	// are; relay carries typing and presence between nodes (nil: this
	// process only).
	presence commands.PresenceStore
	settings commands.SettingsStore
	relay    ws.Relay
	pg       *postgres.DB // nil when embedded
	catalog  *projections.Catalog
	admin    projections.CatalogAdmin
	router   *projections.Router
	checks   map[string]func(ctx context.Context) error
	closer   []func() error
}

func (b *backends) Close() error {
	var errs []error
	for i := len(b.closer) - 1; i >= 0; i-- {
		errs = append(errs, b.closer[i]())
	}
	return errors.Join(errs...)
}

// ping checks every backend (readiness).
func (b *backends) ping(ctx context.Context) error {
	var (
		errs  []error
		names []string
	)
	for name, check := range b.checks {
		if err := check(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			names = append(names, name)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	slices.Sort(names)
	return &httpapi.NotReady{Components: names, Err: errors.Join(errs...)}
}

// openBackends starts or connects every backend that c names: a real one
// when configured, else the embedded one under c.Data.
func openBackends(ctx context.Context, c *config, log *slog.Logger) (_ *backends, err error) {
	b := &backends{checks: map[string]func(context.Context) error{}}
	defer func() {
		if err != nil {
			_ = b.Close()
		}
	}()
	if err := os.MkdirAll(c.Data, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if len(c.brokers()) == 0 || c.PostgresURL == "" || c.CassandraHosts == "" {
		// Something lives in the data directory: one process owns it.
		unlock, err := lockData(c.Data)
		if err != nil {
			return nil, err
		}
		b.closer = append(b.closer, unlock)
	}
	if err := openEventLog(c, b, log); err != nil {
		return nil, err
	}

	var db *embedded.DB
	if c.PostgresURL == "" || c.CassandraHosts == "" {
		if db, err = embedded.Open(filepath.Join(c.Data, "store")); err != nil {
			return nil, err
		}
		b.closer = append(b.closer, db.Close)
		b.checks["embedded store"] = func(context.Context) error { return db.Ping() }
	}

	if c.PostgresURL == "" {
		b.accounts, b.keys, b.sends = db.Accounts(), db.Accounts(), db.SendLog()
		b.presence, b.settings = db.Presence(), db.Accounts()
		if el, ok := b.log.(*embedded.EventLog); ok {
			if b.sends, err = el.SendLog(db); err != nil {
				return nil, err
			}
		}
	} else {
		pg, err := postgres.Open(ctx, postgres.Config{URL: c.PostgresURL})
		if err != nil {
			return nil, err
		}
		b.closer = append(b.closer, func() error { pg.Close(); return nil })
		if c.Migrate {
			if err := pg.Migrate(ctx); err != nil {
				return nil, err
			}
		}
		b.pg, b.accounts, b.keys, b.sends = pg, pg.Accounts(), pg.Accounts(), pg.SendLog()
		b.presence, b.settings = pg.Presence(), pg.Accounts()
		relay, err := pg.Relay(ctx, log)
		if err != nil {
			return nil, err
		}
		b.relay = relay
		b.checks["postgres"] = pg.Ping
		log.Info("accounts on postgres")
	}

	var home projections.Store
	if c.CassandraHosts == "" {
		home = db.Views()
	} else if home, err = openCassandra(ctx, c, b, log); err != nil {
		return nil, err
	}
	if err := openSharding(ctx, c, b, db, home, log); err != nil {
		return nil, err
	}
	return b, nil
}

// openEventLog opens the embedded event log under c.Data, or connects to
// Kafka when brokers are configured.
func openEventLog(c *config, b *backends, log *slog.Logger) error {
	b.partitions, b.topic = int32(c.KafkaPartitions), c.KafkaTopic
	brokers := c.brokers()
	if len(brokers) == 0 {
		start := time.Now()
		l, err := embedded.OpenEventLog(filepath.Join(c.Data, "log"), embedded.EventLogConfig{Partitions: b.partitions})
		if err != nil {
			return err
		}
		b.closer = append(b.closer, l.Close)
		if err := importLegacyLog(context.Background(), c, l, log); err != nil {
			return err
		}
		b.log, b.stream, b.embedded = l, l, true
		log.Info("embedded event log opened", "partitions", b.partitions, "took", time.Since(start).Round(time.Millisecond))
		return nil
	}
	kc := kafka.Config{Brokers: brokers, Topic: c.KafkaTopic, Partitions: b.partitions,
		ReplicationFactor: int16(c.KafkaReplication), Version: c.KafkaVersion}
	kc.SetDefaults()
	if err := kc.Validate(); err != nil {
		return err
	}
	if err := kafka.EnsureTopic(kc); err != nil {
		return err
	}
	pub, err := kafka.NewEventLog(kc, log)
	if err != nil {
		return err
	}
	b.closer = append(b.closer, pub.Close)
	stream, err := kafka.NewStream(kc, log)
	if err != nil {
		return err
	}
	b.closer = append(b.closer, stream.Close)
	b.log, b.stream = pub, stream
	b.checks["kafka"] = stream.Ping
	log.Info("event log on kafka", "brokers", brokers, "topic", kc.Topic)
	return nil
}

// withBackends parses args as the flags of subcommand name, opens the
// backends they name, runs fn, and closes the backends.
func withBackends(ctx context.Context, name string, args []string, fn func(b *backends, log *slog.Logger) error) error {
	c, err := parse(name, args)
	if err != nil {
		return err
	}
	log := c.logger()
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
	defer b.Close()
	return fn(b, log)
}

// countingLog counts appended events by type.
type countingLog struct {
	commands.EventLog
	m *httpapi.Metrics
}

func (l countingLog) Append(ctx context.Context, ev domain.Event) (domain.Position, error) {
	pos, err := l.EventLog.Append(ctx, ev)
	if err == nil {
		l.m.Appended.WithLabelValues(ev.Type()).Inc()
	}
	return pos, err
}

// observeBatch counts each projected event and its lag.
func observeBatch(m *httpapi.Metrics) func(projections.Batch) {
	return func(b projections.Batch) {
		now := time.Now()
		for _, r := range b.Records {
			m.Projected.WithLabelValues(r.Event.Type()).Inc()
			if at := eventTime(r.Event); !at.IsZero() {
				m.Lag.Observe(now.Sub(at).Seconds())
			}
		}
	}
}

func eventTime(ev domain.Event) time.Time {
	switch e := ev.(type) {
	case domain.MessageSent:
		return e.SentAt
	case domain.MessageDelivered:
		return e.DeliveredAt
	case domain.MessageRead:
		return e.ReadAt
	}
	return time.Time{}
}
