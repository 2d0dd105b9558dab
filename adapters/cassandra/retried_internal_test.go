package cassandra

import (
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// TestRetriedForgetsPastTheHorizon: a retried send is remembered until
// sends a day newer are added, in event time (a replay of old events
// remembers them as the live log does), and reset forgets all.
func TestRetriedForgetsPastTheHorizon(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var r retried
	r.add(map[domain.MessageID]time.Time{"a": t0})
	tests := []struct {
		name  string
		add   time.Time
		id    domain.MessageID
		haveA bool
	}{
		{"a send within the day keeps it", t0.Add(23 * time.Hour), "b", true},
		{"an older send is remembered as well", t0.Add(-time.Hour), "c", true},
		{"a send a day and more newer drops it", t0.Add(25 * time.Hour), "d", false},
	}
	for _, tc := range tests {
		r.add(map[domain.MessageID]time.Time{tc.id: tc.add})
		if got := r.has("a"); got != tc.haveA {
			t.Fatalf("%s: has(a) = %v, want %v", tc.name, got, tc.haveA)
		}
		if tc.haveA && !r.has(tc.id) {
			t.Fatalf("%s: the send just added is forgotten", tc.name)
		}
	}
	if !r.has("d") || !r.has("b") || r.has("c") {
		t.Fatalf("after the day moved on: b %v (want true), c %v (want false), d %v (want true)", r.has("b"), r.has("c"), r.has("d"))
	}
	r.reset()
	if r.has("d") {
		t.Fatal("reset kept a send")
	}
}
