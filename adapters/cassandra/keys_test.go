package cassandra

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

func TestIDTimeAndBucket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		at     time.Time
		bucket int
	}{
		{"Epoch", time.UnixMilli(0).UTC(), 197001},
		{"LastMillisecondOfAYear", time.Date(2025, 12, 31, 23, 59, 59, 999e6, time.UTC), 202512},
		{"FirstMillisecondOfAYear", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 202601},
		{"OtherZoneCountsAsUTC", time.Date(2026, 3, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600)), 202602},
		{"FarFuture", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 999912},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := domain.MessageID(domain.NewID(tt.at))
			got, ok := idTime(id)
			if !ok || !got.Equal(tt.at) {
				t.Fatalf("idTime(%s) = %v, %v; want %v", id, got, ok, tt.at)
			}
			if b, err := idBucket(id); err != nil || b != tt.bucket || bucketOf(tt.at) != tt.bucket {
				t.Fatalf("idBucket(%s) = %d, %v; bucketOf = %d; want %d", id, b, err, bucketOf(tt.at), tt.bucket)
			}
		})
	}
	for _, id := range []domain.MessageID{"", "01ARZ3NDEKTSV4RRFFQ69G5FA", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "01ARZ3NDEKTSV4RRFFQ69G5FAU"} {
		if _, err := idBucket(id); err == nil {
			t.Errorf("idBucket(%q): nil error", id)
		}
	}
}

func TestTimestampsOrder(t *testing.T) {
	t.Parallel()
	sent := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	early, late := sent.Add(time.Second), sent.Add(time.Hour)
	if !(tsFirst(sent, early) > tsFirst(sent, late)) {
		t.Error("a later delivery or read beats an earlier one")
	}
	if tsFirst(sent, sent.Add(-time.Hour)) != tsSent(sent) {
		t.Error("a time before the send time does not count as the send time")
	}
	if !(tsRead(sent) > tsSent(sent)) || !(tsRead(sent) > tsFirst(sent, sent)) {
		t.Error("a read's deletions do not beat what MessageSent and MessageDelivered wrote")
	}
	if !(tsSent(sent.Add(time.Millisecond)) > tsRead(sent)) {
		t.Error("the next millisecond's message does not beat this one's")
	}
}

func TestCursor(t *testing.T) {
	t.Parallel()
	c := cursor{at: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), key: domain.NewID(time.Now())}
	got, ok, err := decodeCursor(cursorHistory, c.encode(cursorHistory))
	if err != nil || !ok || got != c {
		t.Fatalf("round trip: %+v, %v, %v; want %+v", got, ok, err, c)
	}
	if _, ok, err := decodeCursor(cursorHistory, nil); ok || err != nil {
		t.Fatalf("nil cursor: %v, %v; want the start", ok, err)
	}
	for name, b := range map[string][]byte{
		"Empty":        {},
		"Short":        []byte("h1234567"),
		"OtherListing": c.encode(cursorUnread),
		"NoKey":        c.encode(cursorHistory)[:9],
		"NUL":          append(c.encode(cursorHistory), 0),
		// Forged times no message has: their month bucket would overflow
		// Cassandra's int (a 500 before) or name a month before any.
		"HugeTime":    forgedCursor(cursorHistory, math.MaxInt64, c.key),
		"Year10000":   forgedCursor(cursorHistory, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), c.key),
		"BeforeEpoch": forgedCursor(cursorHistory, -1, c.key),
	} {
		if _, _, err := decodeCursor(cursorHistory, b); domain.CodeOf(err) != domain.CodeInvalidCursor {
			t.Errorf("%s: err=%v; want %s", name, err, domain.CodeInvalidCursor)
		}
	}
}

// forgedCursor is a cursor of kind with any milliseconds, as a client
// could make one.
func forgedCursor(kind byte, ms int64, key string) []byte {
	b := append([]byte{kind}, binary.BigEndian.AppendUint64(nil, uint64(ms))...)
	return append(b, key...)
}

func TestMigrationsLoad(t *testing.T) {
	t.Parallel()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].version != 1 {
		t.Fatalf("migrations: %+v", ms)
	}
	for _, m := range ms {
		for _, s := range m.stmts {
			if !strings.Contains(s, "IF NOT EXISTS") {
				t.Errorf("%s: a statement that is not idempotent: %.60q", m.name, s)
			}
		}
	}
}

func TestSplitStatements(t *testing.T) {
	t.Parallel()
	got, err := splitStatements("-- comment\nCREATE TABLE a (\n  x int PRIMARY KEY\n);\n\n  -- another\nCREATE TABLE b (y int PRIMARY KEY);\n")
	if err != nil || len(got) != 2 || got[0] != "CREATE TABLE a (\nx int PRIMARY KEY\n)" || got[1] != "CREATE TABLE b (y int PRIMARY KEY)" {
		t.Fatalf("splitStatements: %q, %v", got, err)
	}
	if _, err := splitStatements("CREATE TABLE a (x int PRIMARY KEY)\n"); err == nil {
		t.Fatal("an unterminated statement: nil error")
	}
}
