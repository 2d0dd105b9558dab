package ws

import (
	"context"

	"github.com/tidings-chat/tidings/projections"
)

// Push writes each feed item to every connection of its user on this
// node: a message to the recipient, a receipt to the sender, a read to the
// reader's devices. It is the projections.PushFunc the Fanout calls, with
// items the views already hold. Items of one user must come in cursor
// order (they share a partition); a connection drops items at or before
// its last cursor, so an item pushed twice is written once. It never
// blocks: a connection whose queue is full is closed with
// CloseSlowConsumer. Safe for concurrent use.
func (h *Hub) Push(_ context.Context, items []projections.FeedItem) {
	var targets []*conn
	for _, it := range items {
		h.mu.RLock()
		targets = targets[:0]
		for c := range h.conns[it.User()] {
			targets = append(targets, c)
		}
		h.mu.RUnlock()
		if len(targets) == 0 {
			continue
		}
		frame, key := h.itemFrame(it), itemKey(it)
		if frame == nil { // nothing to tell (frames_edits.go)
			continue
		}
		for _, c := range targets {
			c.push(key, it.Cursor, frame)
		}
	}
}
