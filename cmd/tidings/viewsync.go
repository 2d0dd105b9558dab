package main

import (
	"context"
	"time"

	"github.com/tidings-chat/tidings/adapters/kafka"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

var _ commands.ViewSync = viewSync{}

// viewSync waits until the views have applied everything appended so far
// to a user's partition: the partition's next offset, then the tracker.
type viewSync struct {
	marks      *kafka.Watermarks
	tracker    *projections.Tracker
	partitions int32
	wait       time.Duration
}

func (v viewSync) Sync(ctx context.Context, user domain.UserID) error {
	p := domain.PartitionOf(user, v.partitions)
	next, err := v.marks.Next(p)
	if err != nil || next == 0 {
		return err
	}
	return v.tracker.Wait(ctx, domain.Position{Partition: p, Offset: next - 1}, v.wait)
}
