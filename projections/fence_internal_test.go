package projections

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestFenceReadsBeginAfterTheCall: a check waits for a read of the fence
// that began after it was called, never for one already in flight (which
// may predate the fence), and the checks made during a read share the
// next one.
func TestFenceReadsBeginAfterTheCall(t *testing.T) {
	var (
		mu    sync.Mutex
		reads int64
	)
	firstStarted, releaseFirst := make(chan struct{}), make(chan struct{})
	f := &fenceReader{read: func(context.Context) (int64, error) {
		mu.Lock()
		reads++
		n := reads
		mu.Unlock()
		if n == 1 {
			close(firstStarted)
			<-releaseFirst
		}
		return n, nil // each read answers its own number
	}}
	ctx := context.Background()
	first := make(chan int64, 1)
	go func() { v, _ := f.latest(ctx); first <- v }()
	<-firstStarted
	var wg sync.WaitGroup
	got := make([]int64, 5)
	for i := range got {
		wg.Go(func() { got[i], _ = f.latest(ctx) })
	}
	// Let read 1 end once a check waits behind it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		queued := f.next != nil
		f.mu.Unlock()
		if queued {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no check queued behind the read in flight")
		}
	}
	close(releaseFirst)
	if v := <-first; v != 1 {
		t.Fatalf("first check got read %d", v)
	}
	wg.Wait()
	for i, v := range got {
		if v < 2 {
			t.Fatalf("check %d, made during read 1, got read %d's answer", i, v)
		}
	}
	if reads > 1+int64(len(got)) {
		t.Fatalf("%d reads for %d checks", reads, 1+len(got))
	}
}
