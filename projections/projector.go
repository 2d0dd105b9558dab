package projections

import (
	"context"
	"fmt"

	"github.com/tidings-chat/tidings/domain"
)

// Listener is told about each event after its views are written, in the
// order the projector applied them within a partition. Push fan-out hangs
// here, so a push never announces something the views do not hold yet.
// Applied must not block for long: it runs on the projector's path.
type Listener interface {
	Applied(ctx context.Context, ev domain.Event, pos domain.Position)
}

// Projector applies events to a Store. Handle is safe for concurrent use
// across partitions; within one partition the caller must deliver events in
// log order and one at a time.
type Projector struct {
	store     Store
	tracker   *Tracker
	listeners []Listener
}

// NewProjector returns a projector writing to store and advancing tracker
// (which may be nil).
func NewProjector(store Store, tracker *Tracker, listeners ...Listener) *Projector {
	return &Projector{store: store, tracker: tracker, listeners: listeners}
}

// Handle applies one event. An error means the event was not (fully)
// applied and must be delivered again; applying it again is harmless.
func (p *Projector) Handle(ctx context.Context, ev domain.Event, pos domain.Position) error {
	parties := Parties(ev)
	if parties == nil {
		return fmt.Errorf("project %s at %s: unknown event type", ev.Type(), pos)
	}
	for _, u := range parties {
		if err := ApplyFor(ctx, p.store, ev, u, pos); err != nil {
			return fmt.Errorf("project %s %s for %s at %s: %w", ev.Type(), ev.Message(), u, pos, err)
		}
	}
	if err := p.store.RecordPosition(ctx, pos); err != nil {
		return fmt.Errorf("record position %s: %w", pos, err)
	}
	if p.tracker != nil {
		p.tracker.Advance(pos)
	}
	for _, l := range p.listeners {
		l.Applied(ctx, ev, pos)
	}
	return nil
}
