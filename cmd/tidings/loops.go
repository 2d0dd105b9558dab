package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tidings-chat/tidings/projections"
)

// Restart pacing of the background loops.
const (
	loopFirstPause = 200 * time.Millisecond
	loopMaxPause   = 10 * time.Second
	// loopSteady is how long a restarted loop must run before the node
	// counts it as up again.
	loopSteady = 5 * time.Second
)

// loops runs background loops until stop, which cancels and waits for them.
type loops struct {
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	steady time.Duration // loopSteady; tests shorten it

	mu    sync.Mutex
	state map[string]*loopState
}

// loopState is what health knows of one loop.
type loopState struct {
	running bool
	since   time.Time // when the current run started
	failed  error     // why the loop last stopped; nil if it never did
}

func newLoops(log *slog.Logger) *loops {
	ctx, cancel := context.WithCancel(context.Background())
	return &loops{log: log, ctx: ctx, cancel: cancel, steady: loopSteady, state: map[string]*loopState{}}
}

// run runs fn until the loops stop, starting it again (after a pause that
// grows to 10 s) whenever it returns early, with an error or without: a
// consumer that failed to start (say, a topic whose partition leaders are
// still being elected), or a partition tail whose consumer closed, must
// not stay dead while the node reports ready. Names must be unique.
func (l *loops) run(name string, fn func(ctx context.Context) error) {
	l.mu.Lock()
	st := &loopState{}
	l.state[name] = st
	l.mu.Unlock()
	l.wg.Go(func() {
		pause := loopFirstPause
		for l.ctx.Err() == nil {
			l.mu.Lock()
			st.running, st.since = true, time.Now()
			l.mu.Unlock()
			err := fn(l.ctx)
			if l.ctx.Err() != nil {
				return
			}
			if err == nil {
				err = errors.New("returned without an error")
			}
			l.mu.Lock()
			st.running, st.failed = false, err
			l.mu.Unlock()
			l.log.Error(name+" stopped; restarting", "err", err, "in", pause)
			select {
			case <-l.ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, loopMaxPause)
		}
	})
}

// health is nil unless a loop has stopped and its restart has not yet run
// for the steady time (a readiness check): a loop that keeps failing keeps
// the node not ready; one that recovered makes it ready again.
func (l *loops) health(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var down []string
	var errs []error
	now := time.Now()
	for name, st := range l.state {
		if st.failed != nil && (!st.running || now.Sub(st.since) < l.steady) {
			down = append(down, name)
			errs = append(errs, fmt.Errorf("%s: %w", name, st.failed))
		}
	}
	if len(down) == 0 {
		return nil
	}
	slices.Sort(down)
	return fmt.Errorf("stopped and not yet running steadily again: %s: %w", strings.Join(down, ", "), errors.Join(errs...))
}

func (l *loops) stop() { l.cancel(); l.wg.Wait() }

// runPushTails starts on bg one push tail per partition of stream (used
// when other processes share the log and project some of its partitions):
// each follows its partition from the offset after applied's and pushes
// what the views hold. A tail that ends (its consumer closed, the broker
// went away) is restarted where its pushes stand, not where it began.
func runPushTails(bg *loops, fan *projections.Fanout, stream projections.Stream, partitions int32, applied map[int32]int64) {
	for p := range partitions {
		from := int64(0)
		if off, ok := applied[p]; ok {
			from = off + 1
		}
		bg.run(fmt.Sprintf("push tail %d", p), func(ctx context.Context) error {
			var err error
			from, err = fan.Follow(ctx, stream, p, from)
			return err
		})
	}
}
