package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/tidings-chat/tidings/projections"
)

// Consume implements projections.Stream on a Sarama consumer group
// (sticky assignment) named group. It returns ctx.Err() when ctx ends and
// nothing else: after any error (brokers down, a failed join) it logs,
// pauses and joins again.
//
// Where a claim starts: every time this process is assigned partitions,
// Setup asks start for each and sets the claim's first offset to that,
// whatever offset the group committed (the views are the truth; committed
// offsets only follow them).
//
// Batches: like Tail, up to Config.MaxBatch records already fetched. A
// batch whose handle fails is handed out again after a pause (200 ms
// doubling up to 5 s) until it succeeds or the session ends (rebalance or
// ctx); nothing later of its partition is handed out meanwhile. Only after
// handle succeeds is the offset after the batch marked, to be committed
// within Sarama's auto-commit interval (200 ms) or when the session ends.
// An undecodable record stalls its partition the same way, logged with
// its position at every attempt.
func (s *Stream) Consume(ctx context.Context, group string, start projections.StartFunc, handle projections.BatchHandler) error {
	h := &groupHandler{
		topic:  s.cfg.Topic,
		max:    s.cfg.MaxBatch,
		start:  start,
		handle: handle,
		logger: s.logger.With("group", group),
	}
	var wait backoff
	for {
		err := s.consumeGroup(ctx, group, h, &wait)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		h.logger.Warn("kafka consumer group failed; joining again", "err", err)
		if !wait.sleep(ctx) {
			return ctx.Err()
		}
	}
}

// minSession is how long a session must last for the next join to follow
// at once; a shorter one pauses first, so that a claim that keeps failing
// does not spin.
const minSession = time.Second

// consumeGroup runs sessions of one consumer-group client until an error
// or ctx's end.
func (s *Stream) consumeGroup(ctx context.Context, group string, h *groupHandler, wait *backoff) error {
	cg, err := sarama.NewConsumerGroup(s.cfg.Brokers, group, s.cfg.consumerConfig())
	if err != nil {
		return fmt.Errorf("consumer group %s: %w", group, err)
	}
	defer func() { _ = cg.Close() }()
	go func() {
		for err := range cg.Errors() {
			h.logger.Warn("kafka consumer group error", "err", err)
		}
	}()
	for {
		began := time.Now()
		if err := cg.Consume(ctx, []string{s.cfg.Topic}, h); err != nil {
			return fmt.Errorf("consumer group %s: %w", group, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(began) >= minSession {
			wait.reset()
		} else if !wait.sleep(ctx) {
			return ctx.Err()
		}
	}
}

// groupHandler is the sarama.ConsumerGroupHandler of one Consume call.
type groupHandler struct {
	topic  string
	max    int
	start  projections.StartFunc
	handle projections.BatchHandler
	logger *slog.Logger

	mu     sync.Mutex
	starts map[int32]int64 // the current session's first offset per claim
}

// Setup sets each claim's first offset to start's. Sarama (v1.61.1,
// consumer_group_session.go) runs Setup after it made a partition offset
// manager (POM) per claim, holding the committed offset or -1, and before
// it starts the claims; each claim then begins at the POM's NextOffset.
// But a POM's ResetOffset only lowers its offset and MarkOffset only
// raises it (offset_manager.go), so ResetOffset alone is ignored whenever
// the views are ahead of the committed offset, as they usually are (and
// always for a group that never committed). Calling both sets it either
// way; the offset then committed is the views' own position.
func (h *groupHandler) Setup(sess sarama.ConsumerGroupSession) error {
	starts := map[int32]int64{}
	for _, p := range sess.Claims()[h.topic] {
		off, err := h.start(sess.Context(), p)
		if err != nil {
			return fmt.Errorf("start offset of %s/%d: %w", h.topic, p, err)
		}
		sess.MarkOffset(h.topic, p, off, "")
		sess.ResetOffset(h.topic, p, off, "")
		starts[p] = off
	}
	h.mu.Lock()
	h.starts = starts
	h.mu.Unlock()
	return nil
}

// Cleanup implements sarama.ConsumerGroupHandler.
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim hands the claim's batches to handle, each until it
// succeeds, and marks the offset after each one that did.
func (h *groupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx, p := sess.Context(), claim.Partition()
	h.mu.Lock()
	want := h.starts[p]
	h.mu.Unlock()
	if got := claim.InitialOffset(); got != want {
		// Sarama fell back to the oldest offset: start's was out of range.
		h.logger.Warn("claim begins elsewhere than start said", "partition", p, "start", want, "claim", got)
	}
	b := batcher{topic: h.topic, msgs: claim.Messages(), max: h.max, logger: h.logger}
	var stalled backoff
	for {
		batch, err := b.next(ctx)
		if errors.Is(err, ErrUndecodable) {
			h.logger.Error("undecodable event; partition stalls until fixed", "partition", p, "err", err)
			if !stalled.sleep(ctx) {
				return nil
			}
			continue
		}
		if err != nil {
			return nil // the session ended or the claim closed
		}
		stalled.reset()
		if !h.apply(ctx, batch) {
			return nil
		}
		sess.MarkOffset(h.topic, p, batch.Last()+1, "")
	}
}

// apply calls handle until it succeeds (true) or ctx ends (false).
func (h *groupHandler) apply(ctx context.Context, b projections.Batch) bool {
	var wait backoff
	for {
		err := h.handle(ctx, b)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		h.logger.Warn("batch handler failed; will retry", "partition", b.Partition,
			"first", b.First(), "last", b.Last(), "records", len(b.Records), "err", err)
		if !wait.sleep(ctx) {
			return false
		}
	}
}
