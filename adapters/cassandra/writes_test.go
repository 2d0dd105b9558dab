package cassandra

import (
	"strings"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// messageChanges returns the changes of one message as the log carries
// it: MessageSent and MessageRead (both parties), then the read receipt
// (the sender), at positions of the recipient's and the sender's
// partitions.
func messageChanges(text string) (changes []projections.Change, from, to domain.UserID) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	from, to = domain.UserID(domain.NewID(at)), domain.UserID(domain.NewID(at.Add(time.Millisecond)))
	sent := domain.MessageSent{ID: domain.MessageID(domain.NewID(at)), From: from, To: to, Text: text, SentAt: at}
	readAt := at.Add(time.Second)
	read := domain.MessageRead{ID: sent.ID, From: from, To: to, SentAt: at, ReadAt: readAt}
	rc := domain.MessageReceipt{ID: sent.ID, From: from, To: to, SentAt: at, Status: domain.StatusRead, At: readAt}
	for i, ev := range []domain.Event{sent, read, rc} {
		pos := domain.Position{Partition: 1, Offset: int64(i)}
		if ev == domain.Event(rc) {
			pos = domain.Position{Partition: 2, Offset: 0}
		}
		for _, u := range projections.Parties(ev) {
			changes = append(changes, projections.Change{Event: ev, User: u, Pos: pos})
		}
	}
	return changes, from, to
}

func planOf(t *testing.T, changes []projections.Change) *plan {
	t.Helper()
	p := newPlan()
	for _, c := range changes {
		if err := p.add(c); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func count(p *plan) (stmts int) {
	for _, ss := range p.stmts {
		stmts += len(ss)
	}
	return stmts
}

// TestPlanOfAMessage pins the cost of a message (sent, read, receipt):
// 20 statements on 4 partition keys, 2 of each party, and none reads.
func TestPlanOfAMessage(t *testing.T) {
	t.Parallel()
	changes, from, to := messageChanges("hello")
	p := planOf(t, changes)
	// The users' own keys carry the feed items and where each feed began.
	want := map[partKey]int{{from, 0}: 3, {from, 202603}: 4, {to, 0}: 7, {to, 202603}: 6}
	if len(p.stmts) != len(want) {
		t.Fatalf("keys %v; want %v", p.keys, want)
	}
	for k, n := range want {
		if got := len(p.stmts[k]); got != n {
			t.Errorf("%s: %d statements; want %d", k, got, n)
		}
	}
	if got := count(p); got != 20 {
		t.Errorf("%d statements; want 20", got)
	}
	for _, ss := range p.stmts {
		for _, s := range ss {
			if verb, _, _ := strings.Cut(s.cql, " "); verb != "INSERT" && verb != "UPDATE" && verb != "DELETE" {
				t.Errorf("the apply path runs %q", s.cql)
			}
		}
	}
	if len(p.fed) != 3 {
		t.Errorf("%d feed items; want the message, the read and the receipt", len(p.fed))
	}
}

func TestPlanKeepsOneOfEachWrite(t *testing.T) {
	t.Parallel()
	changes, _, _ := messageChanges("hello")
	once := planOf(t, changes)
	twice := planOf(t, append(append([]projections.Change(nil), changes...), changes...))
	if count(twice) != count(once) || len(twice.fed) != len(once.fed) {
		t.Fatalf("a redelivered run: %d statements, %d feed items; once: %d, %d",
			count(twice), len(twice.fed), count(once), len(once.fed))
	}
	// A send repeated at a new position in the same plan (a retry, or a
	// first attempt appended late) writes nothing more: no feed item.
	retry := changes[1]
	retry.Pos.Offset = 99
	again := planOf(t, append(append([]projections.Change(nil), changes...), retry))
	if count(again) != count(once) || len(again.fed) != len(once.fed) {
		t.Fatalf("a repeated send: %d statements, %d feed items; want %d, %d",
			count(again), len(again.fed), count(once), len(once.fed))
	}
}

// TestPlanOfARetriedCopy: a retried send whose message the recipient's
// views already hold (Views.retriedCopies) rewrites its rows but plans no
// feed item; the sender's rows are planned as always.
func TestPlanOfARetriedCopy(t *testing.T) {
	t.Parallel()
	changes, _, to := messageChanges("hello")
	sent := changes[1].Event.(domain.MessageSent)
	sent.Retry = true
	p := newPlan()
	p.copies = map[domain.MessageID]bool{sent.ID: true}
	for _, u := range projections.Parties(sent) {
		if err := p.add(projections.Change{Event: sent, User: u, Pos: domain.Position{Partition: 1, Offset: 7}}); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.fed) != 0 {
		t.Fatalf("the copy planned feed items %+v", p.fed)
	}
	for _, s := range p.stmts[partKey{to, 0}] {
		if s.cql == insertFeed || s.cql == setFeedFirst {
			t.Fatalf("the copy writes the feed: %q", s.cql)
		}
	}
	if len(p.stmts[partKey{to, 202603}]) == 0 {
		t.Fatal("the copy rewrote none of the recipient's rows")
	}
}

func TestPlanRefusesOthersChanges(t *testing.T) {
	t.Parallel()
	changes, _, _ := messageChanges("hello")
	stranger := domain.UserID(domain.NewID(time.Now()))
	for _, c := range changes {
		c.User = stranger
		if err := newPlan().add(c); err == nil {
			t.Errorf("%s for a stranger: nil error", c.Event.Type())
		}
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	sized := func(sizes ...int) []stmt {
		out := make([]stmt, len(sizes))
		for i, n := range sizes {
			out[i] = stmt{size: n}
		}
		return out
	}
	tests := []struct {
		name  string
		sizes []int
		limit int
		want  []int // statements per batch
	}{
		{"OneFits", []int{100}, 1000, []int{1}},
		{"AllFit", []int{300, 300, 400}, 1000, []int{3}},
		{"Overflow", []int{300, 300, 300, 300}, 1000, []int{3, 1}},
		{"BigOneAlone", []int{100, 5000, 100}, 1000, []int{1, 1, 1}},
		{"BigFirst", []int{5000, 100, 100}, 1000, []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, b := range split(sized(tt.sizes...), tt.limit) {
				got = append(got, len(b))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("batches %v; want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("batches %v; want %v", got, tt.want)
				}
			}
		})
	}
}

// TestLongMessageIsSplit: a message at the text limit (4096 runes of 3
// bytes) is three copies of 12 KiB on the recipient's month key, more than
// one batch may hold.
func TestLongMessageIsSplit(t *testing.T) {
	t.Parallel()
	changes, _, to := messageChanges(strings.Repeat("€", domain.MaxTextRunes))
	p := planOf(t, changes)
	batches := split(p.stmts[partKey{to, 202603}], DefaultBatchBytes)
	if len(batches) < 3 {
		t.Fatalf("%d batches for three 12 KiB rows", len(batches))
	}
	for _, b := range batches {
		size := 0
		for _, s := range b {
			size += s.size
		}
		if len(b) > 1 && size > DefaultBatchBytes {
			t.Fatalf("a batch of %d statements has %d bytes", len(b), size)
		}
	}
}
