package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/adapters/kafka"
	"github.com/tidings-chat/tidings/projections"
)

// legacyBrokerDir is where tidings kept the embedded event log before it
// had a log of its own: franz-go's kfake broker persisted under
// <data>/broker.
const legacyBrokerDir = "broker"

// importLegacyLog copies the events of a data directory written by an
// earlier tidings (the kfake broker under <data>/broker) into the embedded
// event log, in the same order and so at the same offsets (the views'
// recorded positions stay valid), then renames the old directory to
// broker.imported. It is resumable: a partition the log already holds n
// events of is copied from its nth event. Each partition's events are
// appended one after the other, partitions concurrently, with progress on
// stderr. It does nothing when there is no old directory.
func importLegacyLog(ctx context.Context, c *config, l *embedded.EventLog, log *slog.Logger) error {
	dir := filepath.Join(c.Data, legacyBrokerDir)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	log.Info("importing the event log of an earlier tidings", "from", dir)
	broker, err := embedded.StartBroker(dir, 0, log)
	if err != nil {
		return err
	}
	defer broker.Close()
	kc := kafka.Config{Brokers: broker.Addrs(), Topic: c.KafkaTopic, Partitions: l.Partitions()}
	old, err := kafka.NewStream(kc, log)
	if err != nil {
		return err
	}
	defer old.Close()
	_, have, err := l.Bounds(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	ends, n, err := projections.Scan(ctx, old, have, func(ctx context.Context, b projections.Batch) error {
		for _, r := range b.Records {
			pos, err := l.Append(ctx, r.Event)
			if err != nil {
				return err
			}
			if pos != r.Pos {
				return fmt.Errorf("event at %s was imported at %s: the old log has gaps; keep %s and report this", r.Pos, pos, dir)
			}
		}
		return nil
	}, progressPrinter("import", start))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return fmt.Errorf("import %s: %w", dir, err)
	}
	_, now, err := l.Bounds(ctx)
	if err != nil {
		return err
	}
	for p, end := range ends {
		if now[p] != end {
			return fmt.Errorf("import %s: partition %d holds %d events, the old log %d", dir, p, now[p], end)
		}
	}
	broker.Close()
	if err := os.Rename(dir, dir+".imported"); err != nil {
		return fmt.Errorf("import %s: %w", dir, err)
	}
	log.Info("event log imported", "events", n, "took", time.Since(start).Round(time.Millisecond), "old copy", dir+".imported")
	return nil
}
