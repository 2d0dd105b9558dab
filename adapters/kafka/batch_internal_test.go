package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tidings-chat/tidings/domain"
)

// record returns a consumer message of partition 0 at off holding a valid
// event, or bytes that do not decode when bad.
func record(t *testing.T, off int64, bad bool) *sarama.ConsumerMessage {
	t.Helper()
	value := []byte("not an event")
	if !bad {
		now := time.Now().UTC().Truncate(time.Millisecond)
		var err error
		value, err = domain.MarshalEvent(domain.MessageSent{ID: domain.MessageID(domain.NewID(now)), From: "a", To: "b", Text: "x", SentAt: now})
		if err != nil {
			t.Fatal(err)
		}
	}
	return &sarama.ConsumerMessage{Topic: "t", Partition: 0, Offset: off, Value: value}
}

func TestBatcher(t *testing.T) {
	const closed = -1 // in offsets: close the channel here
	tests := []struct {
		name    string
		offsets []int64 // buffered before the first call; closed ends it
		bad     int64   // the offset that does not decode, or -1
		max     int
		want    []string // per call: "first-last", or the error it returns
	}{
		{"DrainsWhatIsBuffered", []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, -1, 512, []string{"0-9", "context"}},
		{"StopsAtMax", []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, -1, 4, []string{"0-3", "4-7", "8-9", "context"}},
		{"SplitsAtGap", []int64{0, 1, 2, 5, 6}, -1, 512, []string{"0-2", "5-6", "context"}},
		{"UndecodableEndsBatchBefore", []int64{0, 1, 2, 3}, 2, 512, []string{"0-1", "undecodable event at t/0-2", "undecodable event at t/0-2"}},
		{"UndecodableFirst", []int64{4, 5}, 4, 512, []string{"undecodable event at t/0-4", "undecodable event at t/0-4"}},
		{"ClosedChannel", []int64{0, 1, closed}, -1, 512, []string{"0-1", "stopped", "stopped"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msgs := make(chan *sarama.ConsumerMessage, len(tc.offsets))
			for _, off := range tc.offsets {
				if off == closed {
					close(msgs)
					break
				}
				msgs <- record(t, off, off == tc.bad)
			}
			b := batcher{topic: "t", msgs: msgs, max: tc.max, logger: slog.New(slog.DiscardHandler)}
			for i, want := range tc.want {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				batch, err := b.next(ctx)
				cancel()
				var got string
				switch {
				case errors.Is(err, context.DeadlineExceeded):
					got = "context"
				case errors.Is(err, errStopped):
					got = "stopped"
				case err != nil:
					if !errors.Is(err, ErrUndecodable) {
						t.Fatalf("call %d: %v does not wrap ErrUndecodable", i, err)
					}
					got = strings.TrimPrefix(err.Error(), "kafka: ")
					got = got[:min(len(got), len(want))]
				default:
					for j, r := range batch.Records {
						if r.Pos.Offset != batch.First()+int64(j) || r.Pos.Partition != batch.Partition {
							t.Fatalf("call %d: record %d at %s in a batch from %d", i, j, r.Pos, batch.First())
						}
					}
					got = fmt.Sprintf("%d-%d", batch.First(), batch.Last())
				}
				if got != want {
					t.Fatalf("call %d: got %q, want %q", i, got, want)
				}
			}
		})
	}
}

func TestBackoffGrowsToItsCap(t *testing.T) {
	var b backoff
	want := []time.Duration{200, 400, 800, 1600, 3200, 5000, 5000}
	for i, w := range want {
		if got := b.pause(); got != w*time.Millisecond {
			t.Fatalf("pause %d is %v, want %v", i, got, w*time.Millisecond)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if b.sleep(ctx) {
		t.Fatal("sleep with an ended ctx returned true")
	}
	b.reset()
	if got := b.pause(); got != minPause {
		t.Fatalf("pause after reset is %v, want %v", got, minPause)
	}
}
