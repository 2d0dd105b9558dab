package projections

import (
	"context"

	"github.com/tidings-chat/tidings/domain"
)

// Record is one event of the log at its position.
type Record struct {
	Pos   domain.Position
	Event domain.Event
}

// Batch is a run of consecutive records of one partition, in log order:
// Records[i+1].Pos.Offset == Records[i].Pos.Offset+1. A log never hands
// out an empty one.
type Batch struct {
	Partition int32
	Records   []Record
	// last, when set, is the offset the batch ends at although its last
	// records were dropped (Pipeline.attributable).
	last int64
}

// First and Last return the offsets of the batch's first and last records.
func (b Batch) First() int64 { return b.Records[0].Pos.Offset }
func (b Batch) Last() int64 {
	if n := len(b.Records); n > 0 && b.Records[n-1].Pos.Offset >= b.last {
		return b.Records[n-1].Pos.Offset
	}
	return b.last
}

// BatchHandler processes one batch. Its error means the batch was not (or
// not fully) applied.
type BatchHandler func(ctx context.Context, b Batch) error

// StartFunc returns the next offset to read of a partition this process
// starts to consume: the offset after the last one the views applied
// (-1 + 1 = 0 for a partition the views never saw). It is called again
// every time the partition is (re)assigned.
type StartFunc func(ctx context.Context, partition int32) (int64, error)

// Stream is the event log as the read side consumes it. The embedded log
// and the Kafka adapter implement it and pass the same contract suite
// (adapters/contract).
//
// Ordering: within a partition, records reach a handler in log order, one
// batch at a time; batches of different partitions may be handled
// concurrently. Only records that are durable (acknowledged to their
// appender, or that would be) are ever handed out.
type Stream interface {
	// Partitions is the log's partition count, fixed for its life.
	Partitions() int32
	// Bounds returns, for every partition, the offset of its oldest record
	// and the offset the next appended record will get.
	Bounds(ctx context.Context) (oldest, next map[int32]int64, err error)
	// Tail calls handle with every record of partition from offset from on
	// (an offset before the oldest starts at the oldest), waiting for new
	// ones, until ctx ends (it returns ctx.Err()) or handle fails (it
	// returns that error; nothing after the failed batch was handed out).
	// It belongs to no group: every caller sees every record.
	Tail(ctx context.Context, partition int32, from int64, handle BatchHandler) error
	// Consume shares the partitions among the processes consuming as
	// group (one owner per partition at a time) and calls handle with the
	// batches of the partitions this process owns, from start's offset on,
	// until ctx ends. A failed batch is handed out again (from its first
	// record) after a pause, and nothing later of its partition is handed
	// out before it succeeds. Where the log keeps group offsets (Kafka),
	// they are committed only after handle succeeds, so they follow the
	// views and never lead them.
	Consume(ctx context.Context, group string, start StartFunc, handle BatchHandler) error
}

// Resumer is a store that has more to learn than positions when this
// process starts to consume a partition: what the partition's earlier
// consumers applied that the store keeps in memory (the Cassandra views'
// retried sends). StartAfter calls Resume after it read the positions, so
// whatever was written before a position it read is found.
type Resumer interface {
	Resume(ctx context.Context) error
}

// StartAfter returns the StartFunc that resumes every partition right
// after the last offset the views recorded (src is the views store); a
// src that is a Resumer resumes too.
func StartAfter(src PositionSource) StartFunc {
	return func(ctx context.Context, partition int32) (int64, error) {
		applied, err := src.AppliedPositions(ctx)
		if err != nil {
			return 0, err
		}
		if r, ok := src.(Resumer); ok {
			if err := r.Resume(ctx); err != nil {
				return 0, err
			}
		}
		if off, ok := applied[partition]; ok {
			return off + 1, nil
		}
		return 0, nil
	}
}
