package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

func TestEventLogSendLogContract(t *testing.T) {
	t.Parallel()
	contract.TestSendLog(t, func(t *testing.T) commands.SendLog {
		store, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = store.Close() })
		s, err := openTestLog(t, t.TempDir(), EventLogConfig{Partitions: 4}).SendLog(store)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// The reservations an earlier version kept in the store move into the
// log once, so a retry across the upgrade still finds its message.
func TestEventLogSendLogTakesTheStoresReservations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rec := commands.SendRecord{From: "alice", ClientMsgID: "c1", ID: domain.MessageID(domain.NewID(time.Now())), To: "bob",
		SentAt: time.Now().UTC().Truncate(time.Millisecond)}
	if _, created, err := store.SendLog().Reserve(ctx, rec); err != nil || !created {
		t.Fatalf("reserve in the store: created %v, %v", created, err)
	}
	l := openTestLog(t, filepath.Join(dir, "log"), EventLogConfig{Partitions: 4})
	s, err := l.SendLog(store)
	if err != nil {
		t.Fatal(err)
	}
	retry := rec
	retry.ID = domain.MessageID(domain.NewID(time.Now()))
	got, created, err := s.Reserve(ctx, retry)
	if err != nil || created || got.ID != rec.ID {
		t.Fatalf("retry after the move: %+v created %v, %v; want the first reservation", got, created, err)
	}
	if _, err := get(store.db, []byte("s/alice/c1")); err != pebble.ErrNotFound {
		t.Fatalf("the store still holds the reservation: %v", err)
	}
	if _, err := l.SendLog(store); err != nil { // moved already: nothing to do
		t.Fatal(err)
	}
}

// A reservation written without an fsync of its own survives every crash
// that its acknowledged send survives: the send's append syncs the log
// that holds it. Sends run concurrently (reserve, then append, as
// commands.SendMessage does); the file system loses some of what was not
// synced.
func TestEventLogSendLogSurvivesPowerLoss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, unsynced := range []int{0, 50} {
		t.Run(fmt.Sprintf("unsynced=%d%%", unsynced), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			store, err := OpenInMemory()
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			l, err := OpenEventLog("log", EventLogConfig{Partitions: 4, fs: fs})
			if err != nil {
				t.Fatal(err)
			}
			sends, err := l.SendLog(store)
			if err != nil {
				t.Fatal(err)
			}
			var (
				mu     sync.Mutex
				acked  []commands.SendRecord
				enough = make(chan struct{})
				wg     sync.WaitGroup
			)
			for g := range 16 {
				wg.Go(func() {
					for i := 0; ; i++ {
						now := time.Now().UTC()
						rec := commands.SendRecord{From: domain.UserID(fmt.Sprintf("u%d", g)), ClientMsgID: fmt.Sprintf("c%d", i),
							ID: domain.MessageID(domain.NewID(now)), To: "bob", SentAt: now}
						if _, _, err := sends.Reserve(ctx, rec); err != nil {
							return
						}
						ev := domain.MessageSent{ID: rec.ID, From: rec.From, To: rec.To, Text: "hi", ClientMsgID: rec.ClientMsgID, SentAt: now}
						if _, err := l.Append(ctx, ev); err != nil {
							return // closed
						}
						mu.Lock()
						acked = append(acked, rec)
						if len(acked) == 300 {
							close(enough)
						}
						mu.Unlock()
					}
				})
			}
			<-enough
			mu.Lock() // no acknowledgement is recorded after the crash
			crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsynced, RNG: rand.New(rand.NewPCG(2, uint64(unsynced)))})
			survivors := slices.Clone(acked)
			mu.Unlock()
			_ = l.Close()
			wg.Wait()
			after := openTestLog(t, "log", EventLogConfig{Partitions: 4, fs: crashed})
			s, err := after.SendLog(store)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range survivors {
				retry := rec
				retry.ID = "a-retry-would-get-this"
				got, created, err := s.Reserve(ctx, retry)
				if err != nil || created || got.ID != rec.ID {
					t.Fatalf("reservation of an acknowledged send after the crash: %+v created %v, %v; want %s", got, created, err, rec.ID)
				}
			}
		})
	}
}
