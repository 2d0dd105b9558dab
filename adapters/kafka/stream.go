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

var _ projections.Stream = (*Stream)(nil)

// Stream is the event log as the read side consumes it, on Sarama directly
// (beneath Watermill: the package comment has the measurement that led
// there). It is safe for concurrent use. Close it after every Tail and
// Consume has returned.
//
// It keeps one control client for Bounds and Ping, a pool of partition
// consumers for Tail (tailPool), and one consumer-group client per
// Consume call. The control client never fetches, on purpose: a Kafka
// broker answers the requests of one connection in order, so an offset
// query or a ping queued behind a long-polling fetch would wait for it.
type Stream struct {
	cfg    Config
	logger *slog.Logger
	client sarama.Client // control: metadata and offsets only, never fetches
	tails  *tailPool
	ping   pinger
}

// NewStream connects the control client. The topic must exist
// (EnsureTopic) with cfg.Partitions partitions; a nil logger discards.
func NewStream(cfg Config, logger *slog.Logger) (*Stream, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client, err := sarama.NewClient(cfg.Brokers, cfg.saramaConfig())
	if err != nil {
		return nil, fmt.Errorf("connect to kafka %v: %w", cfg.Brokers, err)
	}
	s := &Stream{cfg: cfg, logger: logger.With("component", "kafka", "topic", cfg.Topic), client: client}
	s.tails = &tailPool{cfg: cfg}
	s.ping.check = s.refresh
	return s, nil
}

// Close closes the control client and the tail consumers.
func (s *Stream) Close() error {
	return errors.Join(s.tails.close(), s.client.Close())
}

// Partitions implements projections.Stream: the configured partition count
// (EnsureTopic checked that the topic has it).
func (s *Stream) Partitions() int32 { return s.cfg.Partitions }

// Bounds implements projections.Stream with two ListOffsets requests per
// leader broker (oldest and next of all its partitions at once), sent
// concurrently on the control client. When ctx ends first it returns
// ctx.Err(); the requests in flight end within Sarama's Net timeouts.
func (s *Stream) Bounds(ctx context.Context) (oldest, next map[int32]int64, err error) {
	type result struct {
		oldest, next map[int32]int64
		err          error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.oldest, r.next, r.err = s.boundsRetrying(ctx)
		done <- r
	}()
	select {
	case r := <-done:
		return r.oldest, r.next, r.err
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("bounds of %s: %w", s.cfg.Topic, ctx.Err())
	}
}

// boundsRetrying retries bounds after a metadata refresh while the error
// may be transient (a leader moving, a topic just created), as often as
// Sarama retries metadata.
func (s *Stream) boundsRetrying(ctx context.Context) (oldest, next map[int32]int64, err error) {
	conf := s.client.Config()
	for attempt := 0; ; attempt++ {
		oldest, next, err = s.bounds()
		if err == nil || attempt == conf.Metadata.Retry.Max || !retriable(err) {
			return oldest, next, err
		}
		t := time.NewTimer(conf.Metadata.Retry.Backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, err
		case <-t.C:
		}
		_ = s.client.RefreshMetadata(s.cfg.Topic)
	}
}

func retriable(err error) bool {
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		return errors.Is(err, sarama.ErrNotLeaderForPartition) || errors.Is(err, sarama.ErrLeaderNotAvailable) ||
			errors.Is(err, sarama.ErrUnknownTopicOrPartition) || errors.Is(err, sarama.ErrReplicaNotAvailable) ||
			errors.Is(err, sarama.ErrFencedLeaderEpoch) || errors.Is(err, sarama.ErrUnknownLeaderEpoch) ||
			errors.Is(err, sarama.ErrOffsetNotAvailable)
	}
	return true // not a Kafka answer: the connection or the request failed
}

func (s *Stream) bounds() (oldest, next map[int32]int64, err error) {
	byLeader := map[*sarama.Broker][]int32{}
	for p := range s.cfg.Partitions {
		b, err := s.client.Leader(s.cfg.Topic, p)
		if err != nil {
			return nil, nil, fmt.Errorf("leader of %s/%d: %w", s.cfg.Topic, p, err)
		}
		byLeader[b] = append(byLeader[b], p)
	}
	oldest, next = map[int32]int64{}, map[int32]int64{}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for b, parts := range byLeader {
		for _, at := range []int64{sarama.OffsetOldest, sarama.OffsetNewest} {
			into := oldest
			if at == sarama.OffsetNewest {
				into = next
			}
			wg.Go(func() {
				offs, err := s.listOffsets(b, parts, at)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				for p, o := range offs {
					into[p] = o
				}
			})
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return oldest, next, nil
}

// listOffsets asks broker b for the offset at (OffsetOldest or
// OffsetNewest) of each of parts.
func (s *Stream) listOffsets(b *sarama.Broker, parts []int32, at int64) (map[int32]int64, error) {
	req := sarama.NewOffsetRequest(s.client.Config().Version)
	for _, p := range parts {
		req.AddBlock(s.cfg.Topic, p, at, 1)
	}
	resp, err := b.GetAvailableOffsets(req)
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s on broker %d: %w", s.cfg.Topic, b.ID(), err)
	}
	offs := make(map[int32]int64, len(parts))
	for _, p := range parts {
		blk := resp.GetBlock(s.cfg.Topic, p)
		switch {
		case blk == nil:
			return nil, fmt.Errorf("list offsets of %s/%d: %w", s.cfg.Topic, p, sarama.ErrIncompleteResponse)
		case !errors.Is(blk.Err, sarama.ErrNoError):
			return nil, fmt.Errorf("list offsets of %s/%d: %w", s.cfg.Topic, p, blk.Err)
		case len(blk.Offsets) != 1:
			return nil, fmt.Errorf("list offsets of %s/%d: %d offsets in the answer", s.cfg.Topic, p, len(blk.Offsets))
		}
		offs[p] = blk.Offsets[0]
	}
	return offs, nil
}

// Ping reports whether the brokers answer a metadata request for the
// topic, on the control client (no new connection per call). Concurrent
// calls share one request in flight, so a health check polled while the
// brokers are down does not pile up goroutines; a call whose ctx ends
// first returns ctx.Err().
func (s *Stream) Ping(ctx context.Context) error { return s.ping.do(ctx) }

func (s *Stream) refresh() error {
	if err := s.client.RefreshMetadata(s.cfg.Topic); err != nil {
		return fmt.Errorf("metadata of %s: %w", s.cfg.Topic, err)
	}
	return nil
}

// pinger runs check at most once at a time; callers that arrive while it
// runs wait for that run's result.
type pinger struct {
	check func() error

	mu      sync.Mutex
	running *pingRun // nil when idle
}

type pingRun struct {
	done chan struct{} // closed when err is set
	err  error
}

func (p *pinger) do(ctx context.Context) error {
	p.mu.Lock()
	run := p.running
	if run == nil {
		run = &pingRun{done: make(chan struct{})}
		p.running = run
		go func() {
			run.err = p.check()
			p.mu.Lock()
			p.running = nil
			p.mu.Unlock()
			close(run.done)
		}()
	}
	p.mu.Unlock()
	select {
	case <-run.done:
		return run.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
