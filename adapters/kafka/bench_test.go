package kafka_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	wkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/tidings-chat/tidings/adapters/kafka"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// The benchmarks of this file run against the real Kafka only when asked
// (-bench), and each consumes or produces a fixed amount, so run them
// once: see doc.go for the command and the figures.

// fill appends n events spread over every partition, from 64 goroutines.
func fill(b *testing.B, log *kafka.EventLog, partitions int32, n int) {
	b.Helper()
	users := make([]domain.UserID, partitions)
	for p := range users {
		users[p] = userOn(int32(p), partitions)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				ev := sent()
				ev.To = users[i%int64(partitions)]
				if _, err := log.Append(context.Background(), ev); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// clock measures records/s from the first record handled to the last, so
// that joining the group is not counted.
type clock struct {
	mu          sync.Mutex
	first, last time.Time
	n           int
	done        chan struct{}
	want        int
}

func newClock(want int) *clock { return &clock{done: make(chan struct{}), want: want} }

func (c *clock) count(k int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.n == 0 {
		c.first = now
	}
	c.n += k
	c.last = now
	if c.n >= c.want && c.n-k < c.want {
		close(c.done)
	}
}

func (c *clock) wait(b *testing.B) float64 {
	b.Helper()
	select {
	case <-c.done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("consumed %d of %d records", c.n, c.want)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return float64(c.n) / c.last.Sub(c.first).Seconds()
}

// BenchmarkGroupConsume compares the two ways of consuming as a group
// over 4 partitions and 20,000 records, with a handler that waits 1 ms
// (as a store write would): Watermill's subscriber, which holds one
// message per partition until it is acknowledged (watermill issue 374),
// with one worker per partition and the wait per message; and
// Stream.Consume, with the wait per batch.
func BenchmarkGroupConsume(b *testing.B) {
	const (
		partitions = 4
		records    = 20_000
		work       = time.Millisecond
	)
	cfg := newTopic(b, partitions)
	log, s := openLog(b, cfg)
	fill(b, log, partitions, records)

	b.Run("watermill/1ms-per-message", func(b *testing.B) {
		for range b.N {
			c := newClock(records)
			sc := wkafka.DefaultSaramaSubscriberConfig()
			sc.Version, _ = sarama.ParseKafkaVersion(cfg.Version)
			sc.Consumer.Offsets.Initial = sarama.OffsetOldest
			sc.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
			sub, err := wkafka.NewSubscriber(wkafka.SubscriberConfig{
				Brokers: cfg.Brokers, Unmarshaler: wkafka.DefaultMarshaler{},
				OverwriteSaramaConfig: sc, ConsumerGroup: newGroup(),
			}, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			msgs, err := sub.Subscribe(ctx, cfg.Topic)
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			for range partitions {
				wg.Go(func() {
					for msg := range msgs {
						handleOne(b, msg, work)
						c.count(1)
					}
				})
			}
			b.ReportMetric(c.wait(b), "records/s")
			cancel()
			_ = sub.Close()
			wg.Wait()
		}
	})

	b.Run("stream/1ms-per-batch", func(b *testing.B) {
		for range b.N {
			c := newClock(records)
			var batches atomic.Int64
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- s.Consume(ctx, newGroup(), func(context.Context, int32) (int64, error) { return 0, nil },
					func(_ context.Context, batch projections.Batch) error {
						time.Sleep(work)
						batches.Add(1)
						c.count(len(batch.Records))
						return nil
					})
			}()
			b.ReportMetric(c.wait(b), "records/s")
			b.ReportMetric(float64(records)/float64(batches.Load()), "records/batch")
			cancel()
			<-done
		}
	})
}

func handleOne(b *testing.B, msg *message.Message, work time.Duration) {
	if _, err := domain.UnmarshalEvent(msg.Payload); err != nil {
		b.Error(err)
	}
	time.Sleep(work)
	msg.Ack()
}

// BenchmarkAppend measures appends/s and this process's CPU per append
// for 64 concurrent appenders, by linger and compression: 5,000 appends
// per run. With TIDINGS_KAFKA_PID set to the broker's process id (same
// machine), it reports the broker's CPU per append too.
func BenchmarkAppend(b *testing.B) {
	const (
		partitions = 4
		appends    = 5_000
	)
	for _, compression := range []string{"none", "lz4"} {
		for _, linger := range []time.Duration{kafka.NoLinger, time.Millisecond, 5 * time.Millisecond} {
			name := fmt.Sprintf("compression=%s/linger=%v", compression, linger)
			if linger == kafka.NoLinger {
				name = fmt.Sprintf("compression=%s/linger=none", compression)
			}
			b.Run(name, func(b *testing.B) {
				cfg := newTopic(b, partitions)
				cfg.Compression, cfg.Linger = compression, linger
				log, _ := openLog(b, cfg)
				fill(b, log, partitions, 100) // connect and warm up
				broker := os.Getenv("TIDINGS_KAFKA_PID")
				for range b.N {
					cpu, bcpu := cpuTime(), procCPU(b, broker)
					began := time.Now()
					fill(b, log, partitions, appends)
					took := time.Since(began)
					b.ReportMetric(appends/took.Seconds(), "appends/s")
					b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/appends, "cpu-µs/append")
					if broker != "" {
						b.ReportMetric(float64((procCPU(b, broker)-bcpu).Microseconds())/appends, "broker-cpu-µs/append")
					}
				}
			})
		}
	}
}

// procCPU is the user and system CPU time process pid has used (0 when
// pid is empty), from /proc at the kernel's 100 Hz clock tick.
func procCPU(b *testing.B, pid string) time.Duration {
	if pid == "" {
		return 0
	}
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("parse /proc/%s/stat: %v %v", pid, err1, err2)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
