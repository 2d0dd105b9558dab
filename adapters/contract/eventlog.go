package contract

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/kafka"
	"github.com/tidings-chat/tidings/domain"
)

// TestEventLog runs the event-log contract against the Kafka-protocol
// brokers that brokers returns (embedded or real). Each test uses a topic
// of its own.
func TestEventLog(t *testing.T, brokers func(t *testing.T) []string) {
	newConfig := func(t *testing.T) kafka.Config {
		cfg := kafka.Config{Brokers: brokers(t), Topic: fmt.Sprintf("contract-%s", domain.NewID(time.Now())), Partitions: 4}
		cfg.SetDefaults()
		if err := kafka.EnsureTopic(cfg); err != nil {
			t.Fatal(err)
		}
		if err := kafka.EnsureTopic(cfg); err != nil {
			t.Fatalf("EnsureTopic on an existing topic: %v", err)
		}
		return cfg
	}
	t.Run("AppendKeepsKeyOrder", func(t *testing.T) { testAppendOrder(t, newConfig(t)) })
	t.Run("GroupResumesWhereItStopped", func(t *testing.T) { testGroupResume(t, newConfig(t)) })
	t.Run("ReplayReadsEverythingOnceAndStops", func(t *testing.T) { testReplay(t, newConfig(t)) })
}

// appendMany appends n messages from sender i%users to recipient (i+1)%users
// and returns them in append order with their positions.
func appendMany(t *testing.T, cfg kafka.Config, n, users int) ([]domain.MessageSent, map[domain.MessageID]domain.Position) {
	t.Helper()
	log, err := kafka.NewEventLog(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	ids := make([]domain.UserID, users)
	for i := range ids {
		ids[i] = domain.UserID(domain.NewID(time.Now()))
	}
	var evs []domain.MessageSent
	pos := map[domain.MessageID]domain.Position{}
	for i := range n {
		now := time.Now().UTC().Truncate(time.Millisecond)
		ev := domain.MessageSent{ID: domain.MessageID(domain.NewID(now)), From: ids[i%users], To: ids[(i+1)%users], Text: "x", SentAt: now}
		p, err := log.Append(context.Background(), ev)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		evs = append(evs, ev)
		pos[ev.ID] = p
	}
	return evs, pos
}

func testAppendOrder(t *testing.T, cfg kafka.Config) {
	evs, pos := appendMany(t, cfg, 40, 5)
	partOf := map[domain.UserID]int32{}
	last := map[int32]int64{}
	for _, ev := range evs {
		p := pos[ev.ID]
		if want := domain.PartitionOf(ev.To, cfg.Partitions); p.Partition != want {
			t.Fatalf("event for %s in partition %d, want PartitionOf = %d", ev.To, p.Partition, want)
		}
		if want, ok := partOf[ev.To]; ok && want != p.Partition {
			t.Fatalf("recipient %s's events went to partitions %d and %d", ev.To, want, p.Partition)
		}
		partOf[ev.To] = p.Partition
		if off, ok := last[p.Partition]; ok && p.Offset <= off {
			t.Fatalf("offsets not increasing in partition %d: %d after %d", p.Partition, p.Offset, off)
		}
		last[p.Partition] = p.Offset
	}
}

// collector gathers consumed events, safe for concurrent handlers.
type collector struct {
	mu   sync.Mutex
	seen map[domain.MessageID]int
	by   map[domain.UserID][]domain.MessageID
	got  chan struct{}
}

func newCollector() *collector {
	return &collector{seen: map[domain.MessageID]int{}, by: map[domain.UserID][]domain.MessageID{}, got: make(chan struct{}, 1<<16)}
}

func (c *collector) handle(_ context.Context, ev domain.Event, pos domain.Position) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[ev.Message()]++
	if c.seen[ev.Message()] == 1 {
		c.by[ev.Key()] = append(c.by[ev.Key()], ev.Message())
		c.got <- struct{}{}
	}
	return nil
}

func (c *collector) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for range n {
		select {
		case <-c.got:
		case <-deadline:
			c.mu.Lock()
			defer c.mu.Unlock()
			t.Fatalf("consumed %d distinct events, want %d", len(c.seen), n)
		}
	}
}

func testGroupResume(t *testing.T, cfg kafka.Config) {
	evs, _ := appendMany(t, cfg, 30, 3)
	group := "contract-" + string(domain.NewID(time.Now()))
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- kafka.Consume(ctx, cfg, group, c.handle, nil) }()
	c.waitFor(t, 30)
	time.Sleep(500 * time.Millisecond) // let the offsets commit
	cancel()
	<-done
	// Per recipient, events arrive in append order.
	want := map[domain.UserID][]domain.MessageID{}
	for _, ev := range evs {
		want[ev.To] = append(want[ev.To], ev.ID)
	}
	for u, ids := range want {
		equal(t, "order for "+string(u), c.by[u], ids)
	}

	more, _ := appendMany(t, cfg, 10, 3)
	c2 := newCollector()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() { done <- kafka.Consume(ctx2, cfg, group, c2.handle, nil) }()
	c2.waitFor(t, 10)
	for _, ev := range more {
		if c2.seen[ev.ID] == 0 {
			t.Fatalf("resumed group missed %s", ev.ID)
		}
	}
	c2.mu.Lock()
	again := len(c2.seen) - 10
	c2.mu.Unlock()
	if again > 0 {
		t.Logf("resumed group saw %d old events again (allowed: at-least-once)", again)
	}
	cancel2()
	<-done
}

func testReplay(t *testing.T, cfg kafka.Config) {
	evs, _ := appendMany(t, cfg, 25, 4)
	c := newCollector()
	var last int64
	n, err := kafka.Replay(context.Background(), cfg, c.handle, func(done, total int64) {
		if total != 25 || done < last || done > total {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	}, nil)
	if err != nil || n != 25 {
		t.Fatalf("Replay: %d, %v", n, err)
	}
	for _, ev := range evs {
		if c.seen[ev.ID] != 1 {
			t.Fatalf("replay handled %s %d times", ev.ID, c.seen[ev.ID])
		}
	}
}
