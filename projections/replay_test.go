package projections_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/embedded"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// failingStore fails its ApplyBatch number failAt (from 1).
type failingStore struct {
	projections.Store
	calls, failAt int
}

var errApply = errors.New("the store is gone")

func (f *failingStore) ApplyBatch(ctx context.Context, cs []projections.Change, pos map[int32]int64) ([]projections.FeedItem, error) {
	f.calls++
	if f.calls == f.failAt {
		return nil, errApply
	}
	return f.Store.ApplyBatch(ctx, cs, pos)
}

// TestReplayAppliesEverythingInRounds: a replay of a log larger than
// several rounds applies every record, records every partition's end, and
// gives the same views as the live order; a store that fails mid-replay
// stops it with the store's error (nothing hangs).
func TestReplayAppliesEverythingInRounds(t *testing.T) {
	ctx := context.Background()
	log, err := embedded.OpenEventLog(t.TempDir(), embedded.EventLogConfig{Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	users := make([]domain.UserID, 8)
	for i := range users {
		users[i] = domain.UserID(domain.NewID(at.Add(time.Duration(i))))
	}
	const sends = 12_000 // three rounds and a bit, with the reads
	// Appended by 64 writers at once: the log commits them in groups.
	var (
		wg   sync.WaitGroup
		errs = make(chan error, 64)
		last domain.MessageSent // written by the writer of the last send
	)
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < sends; i += 64 {
				sentAt := at.Add(time.Duration(i) * time.Millisecond)
				m := domain.MessageSent{ID: domain.MessageID(domain.NewID(sentAt)), From: users[i%8], To: users[(i+1)%8],
					Text: fmt.Sprintf("message %d", i), SentAt: sentAt}
				if _, err := log.Append(ctx, m); err != nil {
					errs <- err
					return
				}
				if i == sends-1 {
					last = m
				}
				if i%3 == 0 {
					if _, err := log.Append(ctx, domain.MessageRead{ID: m.ID, From: m.From, To: m.To, SentAt: sentAt, ReadAt: sentAt.Add(time.Second)}); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	want := int64(sends + (sends+2)/3)

	views := newViews(t)
	n, err := projections.Replay(ctx, log, views, nil)
	if err != nil || n != want {
		t.Fatalf("Replay: %d events, %v; want %d", n, err, want)
	}
	_, ends, err := log.Bounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := views.AppliedPositions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for p, end := range ends {
		if end > 0 && applied[p] != end-1 {
			t.Fatalf("partition %d: applied up to %d, the log ends at %d", p, applied[p], end)
		}
	}
	if m, err := views.Message(ctx, last.To, last.ID); err != nil || m.Text != last.Text {
		t.Fatalf("the last message after the replay: %+v, %v", m, err)
	}

	failing := &failingStore{Store: newViews(t), failAt: 2}
	if _, err := projections.Replay(ctx, log, failing, nil); !errors.Is(err, errApply) {
		t.Fatalf("Replay into a store that fails: %v, want %v", err, errApply)
	}
}
