package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// memLog is a one-partition log for the mover: scan feeds events from the
// checkpoint and can be told to break after a number of events.
type memLog struct {
	events  []domain.Event
	breakAt int // stop with an error after this many events; 0: never
}

func (l *memLog) scan(ctx context.Context, from map[int32]int64, handle projections.BatchHandler,
	progress projections.Progress) (map[int32]int64, error) {
	n := 0
	for off := from[0]; off < int64(len(l.events)); off++ {
		if l.breakAt > 0 && n == l.breakAt {
			return nil, errors.New("interrupted")
		}
		rec := projections.Record{Event: l.events[off], Pos: domain.Position{Partition: 0, Offset: off}}
		if err := handle(ctx, projections.Batch{Partition: 0, Records: []projections.Record{rec}}); err != nil {
			return nil, err
		}
		n++
	}
	if progress != nil {
		progress(int64(n), int64(n))
	}
	return map[int32]int64{0: int64(len(l.events))}, nil
}

func TestMoveResumesAfterAnInterruption(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	cat := db.Catalog()
	if err := cat.EnsureShards(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	// Users, and a log of messages among them.
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var users []domain.UserID
	for i := range 6 {
		users = append(users, domain.UserID(domain.NewID(base.Add(time.Duration(i)*time.Second))))
	}
	log := &memLog{}
	for i := range 60 {
		at := base.Add(time.Duration(i) * time.Minute)
		from, to := users[i%6], users[(i+1)%6]
		m := domain.MessageSent{ID: domain.MessageID(domain.NewID(at)), From: from, To: to, Text: fmt.Sprint(i), SentAt: at}
		log.events = append(log.events, m)
		if i%2 == 0 {
			log.events = append(log.events, domain.MessageRead{ID: m.ID, From: from, To: to, SentAt: at, ReadAt: at.Add(time.Second)})
		}
	}
	mover, shard := users[0], domain.ShardOf(users[0])
	target := openDB(t)
	m := &projections.Mover{
		Admin: cat,
		Open: func(context.Context, string) (projections.Store, error) {
			return target.Views(), nil
		},
		Scan:       log.scan,
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		AckTimeout: 5 * time.Second,
	}
	// A move to a placement nobody created is refused and changes nothing.
	if err := m.Move(ctx, shard, "p2"); !errors.Is(err, projections.ErrNoPlacement) {
		t.Fatalf("move to a placement that does not exist: %v, want ErrNoPlacement", err)
	}
	if _, shards, _ := cat.Load(ctx); shards[shard].State != projections.ShardActive || shards[shard].Target != "" {
		t.Fatalf("after the refused move: %+v", shards[shard])
	}
	if got, err := cat.Placements(ctx); err != nil || !slices.Equal(got, []string{"default"}) {
		t.Fatalf("Placements after the refused move: %v %v, want [default]", got, err)
	}
	if err := cat.AddPlacement(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	if got, err := cat.Placements(ctx); err != nil || !slices.Equal(got, []string{"default", "p2"}) {
		t.Fatalf("Placements: %v %v, want [default p2]", got, err)
	}
	log.breakAt = 25
	if err := m.Move(ctx, shard, "p2"); err == nil {
		t.Fatal("the interrupted move reported success")
	}
	_, shards, _ := cat.Load(ctx)
	if s := shards[shard]; s.State != projections.ShardMoving || s.Target != "p2" || s.Placement != "default" {
		t.Fatalf("after the interruption: %+v", s)
	}
	cp, err := cat.Checkpoint(ctx, shard)
	if err != nil || cp[0] != 25 {
		t.Fatalf("checkpoint after 25 events: %v, %v", cp, err)
	}
	log.breakAt = 0
	if err := m.Move(ctx, shard, "p2"); err != nil {
		t.Fatalf("resumed move: %v", err)
	}
	_, shards, _ = cat.Load(ctx)
	if s := shards[shard]; s.State != projections.ShardActive || s.Placement != "p2" || s.Target != "" {
		t.Fatalf("after the move: %+v", s)
	}
	if cp, _ := cat.Checkpoint(ctx, shard); len(cp) != 0 {
		t.Fatalf("checkpoint left behind: %v", cp)
	}
	// The target holds exactly what a full projection gives the moved user.
	want := openDB(t).Views()
	for off, ev := range log.events {
		for _, u := range projections.Parties(ev) {
			if u == mover {
				if err := projections.ApplyFor(ctx, want, ev, u, domain.Position{Offset: int64(off)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	got, _, err := target.Views().Unread(ctx, mover, projections.Page{Limit: 100})
	exp, _, err2 := want.Unread(ctx, mover, projections.Page{Limit: 100})
	if err != nil || err2 != nil || fmt.Sprint(got) != fmt.Sprint(exp) || len(exp) == 0 {
		t.Fatalf("unread on the target %v (%v), want %v (%v)", got, err, exp, err2)
	}
	gc, _, _ := target.Views().Conversations(ctx, mover, projections.Page{Limit: 100})
	wc, _, _ := want.Conversations(ctx, mover, projections.Page{Limit: 100})
	if fmt.Sprint(gc) != fmt.Sprint(wc) || len(wc) != 2 {
		t.Fatalf("conversations on the target %v, want %v", gc, wc)
	}
	// And nothing of the users of other shards.
	for _, u := range users[1:] {
		if domain.ShardOf(u) == shard {
			continue
		}
		if c, _, _ := target.Views().Conversations(ctx, u, projections.Page{Limit: 10}); len(c) != 0 {
			t.Fatalf("the target holds rows of %s, of another shard", u)
		}
	}
}
