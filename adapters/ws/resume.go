package ws

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// Backlog limits.
const (
	// feedPage is how many feed items one read of the backlog fetches.
	feedPage = 256
	// MaxUnreadOnConnect bounds the unread messages a connection without a
	// cursor is sent; the rest are a GET /messages away.
	MaxUnreadOnConnect = 500
)

// resume sends what the client missed, then opens the connection to live
// items. With since, that is every feed item after it; without, the unread
// messages, then every item after the position the views had applied when
// the client connected. It ends with a ready frame carrying the cursor to
// resume from. Live items that arrive meanwhile wait in pending, and those
// the backlog already held are dropped by cursor, so nothing is missed and
// nothing in the middle is repeated.
func (c *conn) resume(since string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.stopResume = cancel // kill ends the backlog's reads
	c.mu.Unlock()
	part := domain.PartitionOf(c.user, c.hub.d.Partitions)
	cursor, reset, err := c.start(ctx, part, since)
	if err == nil {
		err = c.backlog(ctx, cursor)
	}
	if err != nil {
		if !c.killed() { // else kill ended the reads
			c.hub.log.Error("websocket resume failed", "user", c.user, "err", err)
			c.kill(CloseInternal, "resume failed, reconnect")
		}
		return
	}
	c.mu.Lock()
	killed := false
	for _, p := range c.pending {
		if p.offset > c.last && !killed {
			c.last = p.offset
			if c.seen.add(p.key) {
				killed = c.enqueueLocked(p.frame)
			}
		}
	}
	// The backlog is sent: its state goes.
	c.pending, c.resuming, c.stopResume = nil, false, nil
	last := c.last
	if !killed {
		killed = c.enqueueLocked(encode(readyFrame{Type: TypeReady, Cursor: domain.Position{Partition: part, Offset: last}.String(), Reset: reset}))
	}
	c.mu.Unlock()
	if killed {
		c.hub.remove(c)
	}
}

// start returns the cursor the backlog follows. A cursor from another
// partition (the topic was resized), an unparsable one, or one older than
// the feed still holds (its items expired) starts over like no cursor, and
// reset tells the client to refetch its views: never a truncated backlog.
func (c *conn) start(ctx context.Context, part int32, since string) (cursor domain.Position, reset bool, err error) {
	if since != "" {
		pos, err := domain.ParsePosition(since)
		if err == nil && pos.Partition == part {
			kept, err := c.hub.d.Views.FeedKept(ctx, c.user, pos)
			if err != nil {
				return cursor, false, fmt.Errorf("check the feed after %s: %w", pos, err)
			}
			if kept {
				return pos, false, nil
			}
		}
		reset = true
	}
	applied, err := c.hub.d.Positions.AppliedPositions(ctx)
	if err != nil {
		return cursor, reset, fmt.Errorf("read applied positions: %w", err)
	}
	off, ok := applied[part]
	if !ok {
		off = -1
	}
	cursor = domain.Position{Partition: part, Offset: off}
	msgs, _, err := c.hub.d.Views.Unread(ctx, c.user, projections.Page{Limit: MaxUnreadOnConnect})
	if err != nil {
		return cursor, reset, fmt.Errorf("read unread messages: %w", err)
	}
	for _, m := range msgs {
		c.mu.Lock()
		c.seen.add(itemKey(projections.FeedItem{Kind: projections.FeedMessage, Message: m}))
		c.mu.Unlock()
		if err := c.enqueueWait(ctx, c.hub.appendMessageFrame(nil, nil, m)); err != nil {
			return cursor, reset, err
		}
	}
	return cursor, reset, nil
}

// backlog queues every feed item after cursor.
func (c *conn) backlog(ctx context.Context, cursor domain.Position) error {
	c.mu.Lock()
	c.last = cursor.Offset
	c.mu.Unlock()
	for {
		items, err := c.hub.d.Views.Feed(ctx, c.user, cursor, feedPage)
		if err != nil {
			return fmt.Errorf("read feed: %w", err)
		}
		for _, it := range items {
			c.mu.Lock()
			c.last = it.Cursor.Offset
			fresh := c.seen.add(itemKey(it))
			c.mu.Unlock()
			if !fresh {
				continue
			}
			if f := c.hub.itemFrame(it); f != nil { // nil: nothing to tell (frames_edits.go)
				if err := c.enqueueWait(ctx, f); err != nil {
					return err
				}
			}
			cursor = it.Cursor
		}
		if len(items) < feedPage {
			return nil
		}
	}
}
