package ws

import (
	"context"
	"sync"
)

// Relay carries ephemeral signals (typing, presence changes, settings
// changes) between the nodes that serve WebSockets. It stores nothing:
// a signal published while a node is not listening is lost for that node,
// which is what ephemeral means. Implementations: LocalRelay (one
// process) and the PostgreSQL LISTEN/NOTIFY relay of adapters/postgres.
// Never the event log's topics.
type Relay interface {
	// Publish sends payload (at most MaxSignal bytes) to the deliver
	// function of every node's Subscribe, this node's included, at most
	// once each. A nil error means the transport took it, not that
	// anyone received it.
	Publish(ctx context.Context, payload []byte) error
	// Subscribe has deliver called with each payload published by any
	// node after Subscribe returns, in the order one publisher published
	// them, until stop is called. deliver must not block. When the
	// transport fails the adapter reconnects by itself; signals published
	// meanwhile are lost. deliver is called from one goroutine at a time.
	Subscribe(ctx context.Context, deliver func(payload []byte)) (stop func(), err error)
}

// MaxSignal is the largest payload a Relay must carry (PostgreSQL's
// NOTIFY takes up to 7999 bytes; signals are a few hundred).
const MaxSignal = 4000

var _ Relay = (*LocalRelay)(nil)

// LocalRelay is the Relay of a single process: Publish calls every
// subscriber's deliver before it returns. It reaches no other process.
// Safe for concurrent use.
type LocalRelay struct {
	mu   sync.Mutex // serialises deliveries, as the Relay contract asks
	subs map[int]func([]byte)
	next int
}

// NewLocalRelay returns a relay with no subscribers.
func NewLocalRelay() *LocalRelay { return &LocalRelay{subs: map[int]func([]byte){}} }

// Publish implements Relay.
func (r *LocalRelay) Publish(_ context.Context, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, deliver := range r.subs {
		deliver(payload)
	}
	return nil
}

// Subscribe implements Relay.
func (r *LocalRelay) Subscribe(_ context.Context, deliver func([]byte)) (func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.next
	r.next++
	r.subs[id] = deliver
	return func() {
		r.mu.Lock()
		delete(r.subs, id)
		r.mu.Unlock()
	}, nil
}
