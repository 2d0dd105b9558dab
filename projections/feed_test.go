package projections_test

import (
	"testing"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

func TestFeedKeptRule(t *testing.T) {
	t.Parallel()
	item := func(off int64) []projections.FeedItem {
		return []projections.FeedItem{{Cursor: domain.Position{Partition: 3, Offset: off}}}
	}
	at := func(off int64) domain.Position { return domain.Position{Partition: 3, Offset: off} }
	tests := []struct {
		name   string
		oldest []projections.FeedItem
		first  int64
		after  domain.Position
		kept   bool
	}{
		{"no item ever", nil, -1, at(-1), true},
		{"every item expired", nil, 10, at(20), false},
		{"nothing dropped, cursor before the first item", item(10), 10, at(4), true},
		{"nothing dropped, cursor within", item(10), 10, at(12), true},
		{"dropped, cursor at the oldest left", item(15), 10, at(15), true},
		{"dropped, cursor after the oldest left", item(15), 10, at(30), true},
		{"dropped, cursor before the oldest left", item(15), 10, at(12), false},
		{"dropped, cursor on a dropped item", item(15), 10, at(10), false},
		{"first unknown (written before it was recorded), cursor after", item(15), -1, at(20), true},
		{"first unknown, cursor before the oldest left", item(15), -1, at(12), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := projections.FeedKeptRule(tt.oldest, tt.first, tt.after); got != tt.kept {
				t.Fatalf("FeedKeptRule(%v, %d, %s) = %v, want %v", tt.oldest, tt.first, tt.after, got, tt.kept)
			}
		})
	}
}
