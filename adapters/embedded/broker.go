package embedded

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is an in-process, single-node Kafka-protocol broker (franz-go's
// kfake) that persists its log under a directory and fsyncs every produced
// batch before acknowledging it. It has no replication: its durability is
// that of the local disk. It listens on loopback only.
type Broker struct {
	c *kfake.Cluster
}

// StartBroker starts the broker with its data in dir, listening on
// 127.0.0.1:port (0 picks a free port).
func StartBroker(dir string, port int, logger *slog.Logger) (*Broker, error) {
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DataDir(filepath.Clean(dir)),
		kfake.SyncWrites(),
		kfake.ClusterID("tidings-embedded"),
		kfake.WithLogger(kfakeLogger{logger}),
	)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker in %s: %w", dir, err)
	}
	return &Broker{c: c}, nil
}

// Addrs returns the broker's host:port addresses.
func (b *Broker) Addrs() []string { return b.c.ListenAddrs() }

// Close stops the broker and syncs its data to disk.
func (b *Broker) Close() { b.c.Close() }

type kfakeLogger struct{ l *slog.Logger }

func (k kfakeLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	if k.l == nil || level > kfake.LogLevelWarn {
		return
	}
	k.l.Warn(fmt.Sprintf(msg, args...), "component", "broker")
}
