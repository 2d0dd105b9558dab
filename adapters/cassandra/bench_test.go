package cassandra_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// workload makes the changes of messages among a fixed set of users, each
// message as the log carries it: MessageSent and MessageRead keyed by the
// recipient, then the MessageReceipt (read) keyed by the sender.
type workload struct {
	users []domain.UserID
	clock time.Time
	seq   int
	offs  map[int32]int64
}

// benchPartitions is the partition count of the benchmark's log.
const benchPartitions = 16

func newWorkload(users int) *workload {
	w := &workload{clock: time.Now().UTC().Truncate(time.Millisecond), offs: map[int32]int64{}}
	for range users {
		w.clock = w.clock.Add(time.Millisecond)
		w.users = append(w.users, domain.UserID(domain.NewID(w.clock)))
	}
	return w
}

func (w *workload) pos(key domain.UserID) domain.Position {
	p := domain.PartitionOf(key, benchPartitions)
	o := w.offs[p]
	w.offs[p]++
	return domain.Position{Partition: p, Offset: o}
}

// batch returns the changes of whole messages, at least n of them, the
// highest offset of each partition they use, and the number of messages.
func (w *workload) batch(n int) (changes []projections.Change, positions map[int32]int64, msgs int) {
	positions = map[int32]int64{}
	for len(changes) < n {
		from := w.users[w.seq%len(w.users)]
		to := w.users[(w.seq*7+1)%len(w.users)]
		if from == to {
			to = w.users[(w.seq+1)%len(w.users)]
		}
		w.seq++
		w.clock = w.clock.Add(time.Microsecond)
		sent := domain.MessageSent{ID: domain.MessageID(domain.NewID(w.clock)), From: from, To: to,
			Text: "a message of a typical length, about sixty bytes of text.", SentAt: w.clock}
		readAt := w.clock.Add(time.Second)
		read := domain.MessageRead{ID: sent.ID, From: from, To: to, SentAt: sent.SentAt, ReadAt: readAt}
		rc := domain.MessageReceipt{ID: sent.ID, From: from, To: to, SentAt: sent.SentAt, Status: domain.StatusRead, At: readAt}
		for _, ev := range []domain.Event{sent, read, rc} {
			pos := w.pos(ev.Key())
			positions[pos.Partition] = pos.Offset
			for _, u := range projections.Parties(ev) {
				changes = append(changes, projections.Change{Event: ev, User: u, Pos: pos})
			}
		}
		msgs++
	}
	return changes, positions, msgs
}

// BenchmarkApply measures messages per second into the real Cassandra,
// one batch of about 256 changes per iteration (each message is 5 changes:
// sent and read for both parties, the receipt for the sender), through
// ApplyBatch and through the per-event path (an Apply per change and a
// RecordPosition per event, as the projector did before ApplyBatch). Keep
// runs short on a shared machine (the per-event path takes about a second
// a batch):
//
//	go test -run '^$' -bench Apply/ApplyBatch -benchtime 40x ./adapters/cassandra/
//	go test -run '^$' -bench Apply/PerEvent -benchtime 8x ./adapters/cassandra/
func BenchmarkApply(b *testing.B) {
	v := sharedViews(b)
	paths := []struct {
		name  string
		apply func(ctx context.Context, changes []projections.Change, positions map[int32]int64) error
	}{
		{"ApplyBatch", func(ctx context.Context, changes []projections.Change, positions map[int32]int64) error {
			_, err := v.ApplyBatch(ctx, changes, positions)
			return err
		}},
		{"PerEvent", func(ctx context.Context, changes []projections.Change, _ map[int32]int64) error {
			for i, c := range changes {
				if err := projections.ApplyFor(ctx, v, c.Event, c.User, c.Pos); err != nil {
					return err
				}
				if i == len(changes)-1 || changes[i+1].Pos != c.Pos {
					if err := v.RecordPosition(ctx, c.Pos); err != nil {
						return err
					}
				}
			}
			return nil
		}},
	}
	for _, p := range paths {
		for _, users := range []int{100} {
			b.Run(fmt.Sprintf("%s/users=%d", p.name, users), func(b *testing.B) {
				w := newWorkload(users)
				msgs := 0
				ctx := b.Context()
				for b.Loop() {
					b.StopTimer()
					changes, positions, n := w.batch(256)
					b.StartTimer()
					if err := p.apply(ctx, changes, positions); err != nil {
						b.Fatal(err)
					}
					msgs += n
				}
				b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
				b.Logf("%d messages in %s", msgs, b.Elapsed())
			})
		}
	}
}
