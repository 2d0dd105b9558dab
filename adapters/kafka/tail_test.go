package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tidings-chat/tidings/adapters/kafka"
	"github.com/tidings-chat/tidings/projections"
)

// tailed collects what a Tail handed out.
type tailed struct {
	mu      sync.Mutex
	records []projections.Record
	batches int
	enough  chan struct{} // closed once want records arrived
	want    int
}

func newTailed(want int) *tailed { return &tailed{enough: make(chan struct{}), want: want} }

func (c *tailed) handle(_ context.Context, b projections.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches++
	had := len(c.records)
	c.records = append(c.records, b.Records...)
	if had < c.want && len(c.records) >= c.want {
		close(c.enough)
	}
	return nil
}

// wait waits for the wanted records or fails t.
func (c *tailed) wait(t *testing.T) {
	t.Helper()
	select {
	case <-c.enough:
	case <-time.After(30 * time.Second):
		c.mu.Lock()
		defer c.mu.Unlock()
		t.Fatalf("tail handed out %d records, want %d", len(c.records), c.want)
	}
}

// offsets returns the offsets handed out, in order.
func (c *tailed) offsets() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int64, len(c.records))
	for i, r := range c.records {
		out[i] = r.Pos.Offset
	}
	return out
}

// tailRun is a Tail running in the background; it is stopped and waited
// for when the test ends.
type tailRun struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func runTail(t *testing.T, s *kafka.Stream, p int32, from int64, handle projections.BatchHandler) *tailRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &tailRun{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Tail(ctx, p, from, handle) }()
	t.Cleanup(func() { cancel(); r.wait(t) })
	return r
}

// wait returns what Tail returned, failing t if it does not return soon.
func (r *tailRun) wait(t *testing.T) error {
	t.Helper()
	r.once.Do(func() {
		select {
		case r.err = <-r.done:
		case <-time.After(30 * time.Second):
			r.err = errors.New("Tail did not return within 30s")
			t.Error(r.err)
		}
	})
	return r.err
}

// running reports whether Tail has not returned yet.
func (r *tailRun) running() bool {
	select {
	case err := <-r.done:
		r.done <- err
		return false
	default:
		return true
	}
}

func wantOffsets(t *testing.T, got []int64, from, to int64) {
	t.Helper()
	if int64(len(got)) != to-from {
		t.Fatalf("handed out %d records, want offsets %d..%d", len(got), from, to-1)
	}
	for i, off := range got {
		if off != from+int64(i) {
			t.Fatalf("record %d has offset %d, want %d", i, off, from+int64(i))
		}
	}
}

func TestTailSeesAppendsMadeAfterItStarted(t *testing.T) {
	t.Parallel()
	cfg := newTopic(t, 2)
	log, s := openLog(t, cfg)
	to := userOn(1, 2)
	appendTo(t, log, to, 5)
	got := newTailed(12)
	run := runTail(t, s, 1, 3, got.handle)
	appendTo(t, log, to, 10) // offsets 5..14
	got.wait(t)
	if !run.running() {
		t.Fatalf("Tail returned %v instead of waiting for more", run.wait(t))
	}
	wantOffsets(t, got.offsets(), 3, 15)
}

func TestTailTwiceOnOnePartition(t *testing.T) {
	t.Parallel()
	cfg := newTopic(t, 1)
	log, s := openLog(t, cfg)
	to := userOn(0, 1)
	appendTo(t, log, to, 6)
	a, b := newTailed(6), newTailed(4)
	runTail(t, s, 0, 0, a.handle)
	runB := runTail(t, s, 0, 2, b.handle)
	a.wait(t)
	b.wait(t)
	wantOffsets(t, a.offsets(), 0, 6)
	wantOffsets(t, b.offsets(), 2, 6)
	// The partition is free again once a Tail returned.
	runB.cancel()
	if err := runB.wait(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("Tail after cancel returned %v, want context.Canceled", err)
	}
	c := newTailed(1)
	runTail(t, s, 0, 5, c.handle)
	c.wait(t)
	wantOffsets(t, c.offsets(), 5, 6)
}

func TestTailRefusesOffsetsTheLogDoesNotHave(t *testing.T) {
	t.Parallel()
	cfg := newTopic(t, 2)
	log, s := openLog(t, cfg)
	appendTo(t, log, userOn(0, 2), 3)
	tests := []struct {
		name      string
		partition int32
		from      int64
		want      string
	}{
		{"BeyondTheEnd", 0, 10, "beyond the partition's end 3"},
		{"NoSuchPartition", 2, 0, "partition out of range"},
		{"NegativePartition", -1, 0, "partition out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := s.Tail(ctx, tc.partition, tc.from, func(context.Context, projections.Batch) error {
				t.Error("handler called")
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Tail(%d, %d) = %v, want an error saying %q", tc.partition, tc.from, err, tc.want)
			}
		})
	}
}

func TestTailStopsAtAnUndecodableEvent(t *testing.T) {
	t.Parallel()
	cfg := newTopic(t, 1)
	log, s := openLog(t, cfg)
	to := userOn(0, 1)
	appendTo(t, log, to, 3)
	bad := produceRaw(t, cfg, 0, []byte(`{"type":"MessageSent","v":99,"data":{}}`))
	appendTo(t, log, to, 2)

	got := newTailed(3)
	err := runTail(t, s, 0, 0, got.handle).wait(t)
	if !errors.Is(err, kafka.ErrUndecodable) || !strings.Contains(err.Error(), fmt.Sprintf("%s/0-%d", cfg.Topic, bad)) {
		t.Fatalf("Tail returned %v, want ErrUndecodable naming %s/0-%d", err, cfg.Topic, bad)
	}
	wantOffsets(t, got.offsets(), 0, bad)
}

// produceRaw writes value as a record of partition p, bypassing the
// event log, and returns its offset.
func produceRaw(t *testing.T, cfg kafka.Config, p int32, value []byte) int64 {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Producer.Return.Successes = true
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	prod, err := sarama.NewSyncProducer(cfg.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	_, off, err := prod.SendMessage(&sarama.ProducerMessage{Topic: cfg.Topic, Partition: p, Value: sarama.ByteEncoder(value)})
	if err != nil {
		t.Fatal(err)
	}
	return off
}

func TestStreamPingAndBounds(t *testing.T) {
	t.Parallel()
	cfg := newTopic(t, 3)
	log, s := openLog(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = s.Ping(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Ping %d: %v", i, err)
		}
	}
	appendTo(t, log, userOn(2, 3), 4)
	oldest, next, err := s.Bounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32][2]int64{0: {0, 0}, 1: {0, 0}, 2: {0, 4}}
	for p, w := range want {
		if oldest[p] != w[0] || next[p] != w[1] {
			t.Fatalf("partition %d: bounds [%d, %d), want [%d, %d)", p, oldest[p], next[p], w[0], w[1])
		}
	}
	done, stop := context.WithCancel(context.Background())
	stop()
	if _, _, err := s.Bounds(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Bounds with an ended ctx returned %v, want context.Canceled", err)
	}
}
