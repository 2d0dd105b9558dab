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
  tidings shards placements add ID [flags]     create a placement (a move only goes to an existing one)
  tidings shards move SHARD PLACEMENT [flags]  move a virtual shard's views online (resumes an interrupted move)
  tidings shards abort SHARD [flags]           give up a move that has not flipped yet
  tidings shards of USER_ID [flags]            the virtual shard and partition of a user (by id, not name)
With the embedded backends the server must be stopped (it owns the data directory);
with PostgreSQL and Cassandra, moves run while servers serve. The flags are those
of "tidings serve -h" that name the backends (--data, --postgres-url, ...).
`

// shards runs "tidings shards ...".
func shards(ctx context.Context, args []string) error {
	if helpAsked(args) || (len(args) > 0 && args[0] == "help") {
		fmt.Print(shardsUsage)
		return nil
	}
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
		return printShardOf(pos[0], args)
	case sub == "placements" && len(pos) == 2 && pos[0] == "add":
		return withBackends(ctx, "shards placements add", args, func(b *backends, _ *slog.Logger) error {
			if err := b.admin.AddPlacement(ctx, pos[1]); err != nil {
				return err
			}
			fmt.Printf("placement %s added\n", pos[1])
			return nil
		})
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

// printShardOf prints the virtual shard and partition of the user with id. It
// takes ids only: shards and partitions hash the id, and a name is not
// resolved (that would need the accounts store, which the server may hold).
func printShardOf(id string, args []string) error {
	c, err := parse("shards of", args)
	if err != nil {
		return err
	}
	if !domain.ValidID(id) {
		return fmt.Errorf("%q is not a user id: pass the 26-character id that \"tidings users add\" or POST /users printed (e.g. 01JD3M7Q8ZK5W0V4N6X2B9C1E7), not a name", id)
	}
	u := domain.UserID(id)
	fmt.Printf("user %s: virtual shard %d, partition %d of %d\n", u, domain.ShardOf(u), domain.PartitionOf(u, int32(c.KafkaPartitions)), c.KafkaPartitions)
	return nil
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
	if errors.Is(err, projections.ErrNoPlacement) {
		return fmt.Errorf("%w; create it first with \"tidings shards placements add %s\"", err, target)
	}
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
	known, err := b.admin.Placements(ctx)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, p := range known { // created, perhaps holding no shard yet
		counts[p] = 0
	}
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
