package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

const shardsUsage = `usage:
  tidings shards list [flags]                  placements with their shard counts, and shards not active
  tidings shards move SHARD PLACEMENT [flags]  move a virtual shard's views online (resumes an interrupted move)
  tidings shards abort SHARD [flags]           give up a move that has not flipped yet
  tidings shards of USER_ID                    the virtual shard and partition of a user
With the embedded backends the server must be stopped (it owns the data directory);
with PostgreSQL and Cassandra, moves run while servers serve.`

// shards runs "tidings shards ...".
func shards(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New(shardsUsage)
	}
	sub, args := args[0], args[1:]
	var pos []string
	for len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		pos, args = append(pos, args[0]), args[1:]
	}
	switch {
	case sub == "of" && len(pos) == 1:
		c, err := parse("shards of", args)
		if err != nil {
			return err
		}
		u := domain.UserID(pos[0])
		fmt.Printf("user %s: virtual shard %d, partition %d of %d\n", u, domain.ShardOf(u), domain.PartitionOf(u, int32(c.KafkaPartitions)), c.KafkaPartitions)
		return nil
	case sub == "list" && len(pos) == 0, sub == "move" && len(pos) == 2, sub == "abort" && len(pos) == 1:
	default:
		return errors.New(shardsUsage)
	}
	var id int
	if sub != "list" {
		n, err := strconv.Atoi(pos[0])
		if err != nil {
			return fmt.Errorf("shard %q: %w", pos[0], err)
		}
		id = n
	}
	return withBackends(ctx, "shards "+sub, args, func(b *backends, log *slog.Logger) error {
		switch sub {
		case "list":
			return listShards(ctx, b)
		case "abort":
			return (&projections.Mover{Admin: b.admin, Log: log}).Abort(ctx, id)
		}
		return moveShard(ctx, b, log, id, pos[1])
	})
}

func moveShard(ctx context.Context, b *backends, log *slog.Logger, id int, target string) error {
	start := time.Now()
	m := &projections.Mover{
		Admin: b.admin,
		Open:  b.router.Store,
		Scan:  projections.ScanOf(b.stream),
		Log:   log,
		Progress: func(step string, done, total int64) {
			progressPrinter(step, start)(done, total)
		},
	}
	err := m.Move(ctx, id, target)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("shard %d moved to %s in %s\n", id, target, time.Since(start).Round(time.Millisecond))
	return nil
}

func listShards(ctx context.Context, b *backends) error {
	version, all, err := b.admin.Load(ctx)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	var busy []projections.ShardInfo
	for _, s := range all {
		counts[s.Placement]++
		if s.State != projections.ShardActive {
			busy = append(busy, s)
		}
	}
	names := make([]string, 0, len(counts))
	for p := range counts {
		names = append(names, p)
	}
	sort.Strings(names)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "catalog version %d, %d virtual shards\n", version, len(all))
	fmt.Fprintln(w, "PLACEMENT\tSHARDS")
	for _, p := range names {
		fmt.Fprintf(w, "%s\t%d\n", p, counts[p])
	}
	for _, s := range busy {
		fmt.Fprintf(w, "shard %d\t%s from %s to %s (epoch %d)\n", s.ID, s.State, s.Placement, s.Target, s.Epoch)
	}
	return w.Flush()
}
