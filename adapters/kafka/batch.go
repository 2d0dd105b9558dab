package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// ErrUndecodable marks a record that domain.UnmarshalEvent rejects. A
// reader never skips one: the views would silently diverge from the log.
var ErrUndecodable = errors.New("kafka: undecodable event")

// errStopped says the partition consumer closed its Messages channel.
var errStopped = errors.New("kafka: partition consumer stopped")

// batcher cuts the records a Sarama partition consumer delivers into
// projections.Batches. After one blocking receive it takes whatever else
// is already buffered on the channel, up to max records, so a batch grows
// with the backlog and costs no waiting when there is none. A batch stops
// early at an offset gap (Kafka offsets may skip, e.g. past transaction
// markers), so its records are always consecutive. Not safe for
// concurrent use.
type batcher struct {
	topic  string
	msgs   <-chan *sarama.ConsumerMessage
	errs   <-chan *sarama.ConsumerError // may be nil
	max    int
	logger *slog.Logger
	held   *sarama.ConsumerMessage // received but not handed out yet
}

// next returns the next batch. It returns ctx.Err() when ctx ends and
// errStopped when the channel closes. A record that does not decode ends
// the batch before it; a batch that would start with it is an error
// wrapping ErrUndecodable and naming its position, and every later call
// tries that record again.
func (b *batcher) next(ctx context.Context) (projections.Batch, error) {
	m := b.held
	b.held = nil
	for m == nil {
		select {
		case <-ctx.Done():
			return projections.Batch{}, ctx.Err()
		case err, ok := <-b.errs:
			if !ok {
				b.errs = nil
			} else if err != nil {
				b.logger.Warn("kafka read failed; Sarama retries", "partition", err.Partition, "err", err.Err)
			}
		case got, ok := <-b.msgs:
			if !ok {
				return projections.Batch{}, errStopped
			}
			m = got
		}
	}
	recs := make([]projections.Record, 0, min(b.max, 1+len(b.msgs)))
	for {
		pos := domain.Position{Partition: m.Partition, Offset: m.Offset}
		ev, err := domain.UnmarshalEvent(m.Value)
		if err != nil {
			b.held = m
			if len(recs) == 0 {
				return projections.Batch{}, fmt.Errorf("%w at %s/%s: %w", ErrUndecodable, b.topic, pos, err)
			}
			break
		}
		recs = append(recs, projections.Record{Pos: pos, Event: ev})
		if len(recs) == b.max {
			break
		}
		var more bool
		select {
		case got, ok := <-b.msgs:
			if ok && got.Offset != m.Offset+1 {
				b.held = got
			} else if ok {
				m, more = got, true
			}
		default:
		}
		if !more {
			break
		}
	}
	return projections.Batch{Partition: recs[0].Pos.Partition, Records: recs}, nil
}

// backoff is the pause before a retry: 200 ms, doubling up to 5 s.
type backoff struct{ next time.Duration }

const (
	minPause = 200 * time.Millisecond
	maxPause = 5 * time.Second
)

// pause returns the next pause and lengthens the one after.
func (b *backoff) pause() time.Duration {
	if b.next == 0 {
		b.next = minPause
	}
	d := b.next
	b.next = min(2*d, maxPause)
	return d
}

// sleep waits for the next pause; false when ctx ended first.
func (b *backoff) sleep(ctx context.Context) bool {
	t := time.NewTimer(b.pause())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// reset makes the next pause the shortest again.
func (b *backoff) reset() { b.next = 0 }
