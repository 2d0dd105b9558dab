package ws

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// TestEditFrames: the feed items of edits and deletes render as their
// documented frames (not as "read", which the hub's default once made of
// any kind it did not know), each version of an edit is news of its own,
// and a message hidden since, or an edit deleted since, tells nothing.
func TestEditFrames(t *testing.T) {
	h := &Hub{d: Deps{MessageJSON: httpapi.AppendMessageJSON}}
	at := time.Date(2026, 12, 7, 20, 1, 2, 30e6, time.UTC)
	pos := domain.Position{Partition: 3, Offset: 12}
	m := domain.Message{ID: "01M", From: "a", To: "b", Text: "new \"text\"", SentAt: at, Version: 2, EditedAt: at.Add(time.Minute)}
	tests := []struct {
		name string
		it   projections.FeedItem
		want map[string]any
	}{
		{"edited", projections.FeedItem{Cursor: pos, Kind: projections.FeedEdited, Message: m, At: m.EditedAt},
			map[string]any{"type": "edited", "cursor": "3-12", "id": "01M", "version": 2.0, "text": "new \"text\"", "edited_at": "2026-12-07T20:02:02.030Z"}},
		{"deleted", projections.FeedItem{Cursor: pos, Kind: projections.FeedDeleted, Message: domain.Message{ID: "01M", Deleted: true}, At: at},
			map[string]any{"type": "deleted", "cursor": "3-12", "id": "01M", "at": "2026-12-07T20:01:02.030Z"}},
		{"hidden", projections.FeedItem{Cursor: pos, Kind: projections.FeedHidden, Message: domain.Message{ID: "01M", Hidden: true}, At: at},
			map[string]any{"type": "hidden", "cursor": "3-12", "id": "01M", "at": "2026-12-07T20:01:02.030Z"}},
	}
	for _, tc := range tests {
		var got map[string]any
		if err := json.Unmarshal(h.itemFrame(tc.it), &got); err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s frame: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	rm := domain.Message{ID: "01M", From: "a", To: "b"}
	rm.Reactions[1] = domain.Reaction{By: "b", Emoji: "👍", Version: 2}
	var got map[string]any
	if err := json.Unmarshal(h.itemFrame(projections.FeedItem{Cursor: pos, Kind: projections.FeedReactedByRecipient, Message: rm, At: at}), &got); err != nil ||
		!reflect.DeepEqual(got, map[string]any{"type": "reaction", "cursor": "3-12", "id": "01M", "by": "b", "emoji": "👍", "version": 2.0, "at": "2026-12-07T20:01:02.030Z"}) {
		t.Errorf("reaction frame: %v, %v", got, err)
	}
	other := rm
	other.Reactions[1].Emoji = "❤️"
	if itemKey(projections.FeedItem{Kind: projections.FeedReactedByRecipient, Message: rm}) == itemKey(projections.FeedItem{Kind: projections.FeedReactedByRecipient, Message: other}) {
		t.Error("two reactions share a key: the second would be dropped as a repeat")
	}
	hiddenMsg := m
	hiddenMsg.Hidden = true
	gone := m
	gone.Deleted = true
	for name, it := range map[string]projections.FeedItem{
		"message hidden since":  {Cursor: pos, Kind: projections.FeedMessage, Message: hiddenMsg},
		"edit of a tombstone":   {Cursor: pos, Kind: projections.FeedEdited, Message: gone},
		"edit of a hidden copy": {Cursor: pos, Kind: projections.FeedEdited, Message: hiddenMsg},
	} {
		if f := h.itemFrame(it); f != nil {
			t.Errorf("%s: frame %s, want none", name, f)
		}
	}
	v3 := m
	v3.Version = 3
	if itemKey(projections.FeedItem{Kind: projections.FeedEdited, Message: m}) == itemKey(projections.FeedItem{Kind: projections.FeedEdited, Message: v3}) {
		t.Error("two versions of an edit share a key: the second would be dropped as a repeat")
	}
}
