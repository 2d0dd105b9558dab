package projections_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// gatedStore counts ApplyBatch calls that apply changes (a round of
// positions alone, recorded once a batch's derived events are durable, is
// not counted); the first one waits for open, so batches handed out
// meanwhile queue up for the next round.
type gatedStore struct {
	projections.Store
	mu      sync.Mutex
	calls   int
	entered chan struct{}
	open    chan struct{}
	fail    error
}

func (g *gatedStore) ApplyBatch(ctx context.Context, cs []projections.Change, pos map[int32]int64) ([]projections.FeedItem, error) {
	g.mu.Lock()
	var entered chan struct{}
	if len(cs) > 0 {
		g.calls++
		if g.calls == 1 {
			entered = g.entered
		}
	}
	fail := g.fail
	g.mu.Unlock()
	if entered != nil {
		close(entered)
		<-g.open
	}
	if fail != nil {
		return nil, fail
	}
	return g.Store.ApplyBatch(ctx, cs, pos)
}

func TestPipelineAppliesWaitingPartitionsInOneRound(t *testing.T) {
	tests := []struct {
		name string
		fail error
	}{
		{"applied", nil},
		{"a failed round fails each of its batches", errors.New("disk full")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			store := &gatedStore{Store: newViews(t), entered: make(chan struct{}), open: make(chan struct{}), fail: tc.fail}
			var pushed []projections.FeedItem
			var pmu sync.Mutex
			p := &projections.Pipeline{Store: store, Log: &recordingLog{},
				Push: func(_ context.Context, items []projections.FeedItem) {
					pmu.Lock()
					pushed = append(pushed, items...)
					pmu.Unlock()
				}}
			send := func(part int32) error {
				id := domain.MessageID(domain.NewID(at))
				return p.Handle(ctx, batchOf(part, 0, domain.MessageSent{ID: id, From: alice, To: bob, Text: "hi", SentAt: at}))
			}
			errs := make(chan error, 5)
			go func() { errs <- send(0) }()
			<-store.entered // partition 0's round is in the store; 1..4 arrive meanwhile
			var wg sync.WaitGroup
			for part := int32(1); part <= 4; part++ {
				wg.Go(func() { errs <- send(part) })
			}
			for p.Waiting() < 4 {
				time.Sleep(time.Millisecond)
			}
			close(store.open)
			wg.Wait()
			for range 5 {
				if err := <-errs; (err != nil) != (tc.fail != nil) {
					t.Fatalf("Handle: %v, want failure %v", err, tc.fail != nil)
				}
			}
			if tc.fail != nil {
				return
			}
			store.mu.Lock()
			calls := store.calls
			store.mu.Unlock()
			if calls != 2 {
				t.Fatalf("%d store writes for 5 batches handed out while one applied, want 2", calls)
			}
			pos, _ := store.AppliedPositions(ctx)
			if len(pos) != 5 || len(pushed) != 5 {
				t.Fatalf("positions %v, %d pushes; want 5 of each", pos, len(pushed))
			}
		})
	}
}

// With Rounds = 2 a second round applies while the first waits on its
// store write (a store that waits on the network), each Handle returning
// once its own batch is applied.
func TestPipelineOverlapsRounds(t *testing.T) {
	ctx := context.Background()
	store := &gatedStore{Store: newViews(t), entered: make(chan struct{}), open: make(chan struct{})}
	p := &projections.Pipeline{Store: store, Log: &recordingLog{}, Rounds: 2}
	send := func(part int32) error {
		id := domain.MessageID(domain.NewID(at))
		return p.Handle(ctx, batchOf(part, 0, domain.MessageSent{ID: id, From: alice, To: bob, Text: "hi", SentAt: at}))
	}
	first := make(chan error, 1)
	go func() { first <- send(0) }()
	<-store.entered
	if err := send(1); err != nil { // applied by a second round while the first is held
		t.Fatal(err)
	}
	select {
	case err := <-first:
		t.Fatalf("the held round returned early: %v", err)
	default:
	}
	close(store.open)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if pos, _ := store.AppliedPositions(ctx); len(pos) != 2 {
		t.Fatalf("positions %v, want both partitions", pos)
	}
}

// Handle returns only once its round has ended, even when its context
// ends first: after every partition's Handle has returned, no round is
// still writing to the store, so the store can be closed (a round left
// running would write to a closed store).
func TestPipelineHandleOutlivesNoRound(t *testing.T) {
	store := &gatedStore{Store: newViews(t), entered: make(chan struct{}), open: make(chan struct{})}
	p := &projections.Pipeline{Store: store, Log: &recordingLog{}}
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan error, 1)
	go func() {
		id := domain.MessageID(domain.NewID(at))
		returned <- p.Handle(ctx, batchOf(0, 0, domain.MessageSent{ID: id, From: alice, To: bob, Text: "hi", SentAt: at}))
	}()
	<-store.entered
	cancel()
	select {
	case err := <-returned:
		t.Fatalf("Handle returned (%v) while its round was still in the store", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(store.open)
	<-returned
}

// poisonStore fails every apply that holds a change of one user.
type poisonStore struct {
	projections.Store
	poison domain.UserID
}

func (s poisonStore) ApplyBatch(ctx context.Context, cs []projections.Change, pos map[int32]int64) ([]projections.FeedItem, error) {
	for _, c := range cs {
		if c.User == s.poison {
			return nil, errors.New("corrupt row")
		}
	}
	return s.Store.ApplyBatch(ctx, cs, pos)
}

// A batch that keeps failing fails alone: the batches of other partitions
// that shared its round are applied.
func TestPipelineFailedRoundIsolatesTheFailingBatch(t *testing.T) {
	ctx := context.Background()
	carol := domain.UserID(domain.NewID(at))
	gate := &gatedStore{Store: poisonStore{Store: newViews(t), poison: carol}, entered: make(chan struct{}), open: make(chan struct{})}
	p := &projections.Pipeline{Store: gate, Log: &recordingLog{}}
	send := func(part int32, to domain.UserID) error {
		id := domain.MessageID(domain.NewID(at))
		return p.Handle(ctx, batchOf(part, 0, domain.MessageSent{ID: id, From: alice, To: to, Text: "hi", SentAt: at}))
	}
	first := make(chan error, 1)
	go func() { first <- send(0, bob) }()
	<-gate.entered
	errs := make(chan error, 2)
	go func() { errs <- send(1, carol) }() // the poisoned one
	go func() { errs <- send(2, bob) }()
	for p.Waiting() < 2 {
		time.Sleep(time.Millisecond)
	}
	close(gate.open)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	failed := 0
	for range 2 {
		if err := <-errs; err != nil {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d of the round's two batches failed, want only the poisoned one", failed)
	}
	if pos, _ := gate.AppliedPositions(ctx); pos[2] != 0 || len(pos) != 2 {
		t.Fatalf("positions %v: want partitions 0 and 2 applied", pos)
	}
}
