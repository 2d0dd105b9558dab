package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

var _ commands.PresenceStore = (*Presence)(nil)

// Presence is the PresenceStore of every node sharing the database
// (tables last_seen, presence_nodes, presence_conns; migration 0009).
// Deleting a user (Accounts.DeleteUser) deletes their rows (ON DELETE
// CASCADE), and marks of users that do not exist are not kept.
// Times are the callers' clocks, stored with microsecond precision: node
// clocks must agree to well within commands.PresenceNodeTTL. Each method is
// one statement. Safe for concurrent use.
type Presence struct {
	pool *pgxpool.Pool
}

// Presence returns the presence store.
func (d *DB) Presence() *Presence { return &Presence{pool: d.pool} }

// Beat implements commands.PresenceStore.
func (p *Presence) Beat(ctx context.Context, node string, at time.Time) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO presence_nodes (node, beat_at) VALUES ($1, $2)
		ON CONFLICT (node) DO UPDATE SET beat_at = GREATEST(presence_nodes.beat_at, EXCLUDED.beat_at),
			swept = presence_nodes.swept AND presence_nodes.beat_at >= EXCLUDED.beat_at`, node, at)
	if err != nil {
		return fmt.Errorf("presence beat of node %s: %w", node, err)
	}
	return nil
}

// raiseLastSeen is the statement that follows a connection mark: the
// user's last seen moves up to $2, never back. A user that does not exist
// (deleted, while a mark was on its way) gets nothing.
const raiseLastSeen = `INSERT INTO last_seen (user_id, at) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM users WHERE id = $1)
	ON CONFLICT (user_id) DO UPDATE SET at = GREATEST(last_seen.at, EXCLUDED.at)`

// Online implements commands.PresenceStore.
func (p *Presence) Online(ctx context.Context, node string, user domain.UserID, at time.Time) error {
	_, err := p.pool.Exec(ctx, `WITH c AS (INSERT INTO presence_conns (user_id, node, since)
			SELECT $1, $3, $2 WHERE EXISTS (SELECT 1 FROM users WHERE id = $1)
		ON CONFLICT (user_id, node) DO NOTHING) `+raiseLastSeen, string(user), at, node)
	if err != nil {
		return fmt.Errorf("mark %s online: %w", user, err)
	}
	return nil
}

// Offline implements commands.PresenceStore.
func (p *Presence) Offline(ctx context.Context, node string, user domain.UserID, at time.Time) error {
	_, err := p.pool.Exec(ctx, `WITH c AS (DELETE FROM presence_conns WHERE user_id = $1 AND node = $3) `+raiseLastSeen,
		string(user), at, node)
	if err != nil {
		return fmt.Errorf("mark %s offline: %w", user, err)
	}
	return nil
}

// Presence implements commands.PresenceStore.
func (p *Presence) Presence(ctx context.Context, user domain.UserID, now time.Time) (bool, time.Time, error) {
	var (
		online bool
		last   *time.Time
	)
	err := p.pool.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM presence_conns c JOIN presence_nodes n ON n.node = c.node
				WHERE c.user_id = $1 AND n.beat_at > $2),
			GREATEST((SELECT at FROM last_seen WHERE user_id = $1),
				(SELECT max(n.beat_at) FROM presence_conns c JOIN presence_nodes n ON n.node = c.node
					WHERE c.user_id = $1 AND n.beat_at <= $2))`,
		string(user), now.Add(-commands.PresenceNodeTTL)).Scan(&online, &last)
	if err != nil {
		return false, time.Time{}, fmt.Errorf("read presence of %s: %w", user, err)
	}
	if last == nil {
		return online, time.Time{}, nil
	}
	return online, last.UTC(), nil
}

// Sweep implements commands.PresenceStore: one statement marks the dead
// nodes swept (a row lock each, so concurrent sweeps split them), raises
// their users' last seen and returns those not online elsewhere.
func (p *Presence) Sweep(ctx context.Context, now time.Time) ([]commands.Gone, error) {
	rows, err := p.pool.Query(ctx, `WITH dead AS (
			UPDATE presence_nodes SET swept = true WHERE beat_at <= $1 AND NOT swept RETURNING node, beat_at),
		gone AS (
			SELECT c.user_id, max(d.beat_at) AS at FROM presence_conns c JOIN dead d ON d.node = c.node GROUP BY c.user_id),
		seen AS (
			INSERT INTO last_seen (user_id, at) SELECT user_id, at FROM gone
			ON CONFLICT (user_id) DO UPDATE SET at = GREATEST(last_seen.at, EXCLUDED.at))
		SELECT g.user_id, GREATEST(g.at, (SELECT l.at FROM last_seen l WHERE l.user_id = g.user_id)) FROM gone g
		WHERE NOT EXISTS (SELECT 1 FROM presence_conns c JOIN presence_nodes n ON n.node = c.node
			WHERE c.user_id = g.user_id AND n.beat_at > $1)`, now.Add(-commands.PresenceNodeTTL))
	if err != nil {
		return nil, fmt.Errorf("sweep dead nodes: %w", err)
	}
	var out []commands.Gone
	var (
		user string
		at   time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&user, &at}, func() error {
		out = append(out, commands.Gone{User: domain.UserID(user), LastSeen: at.UTC()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sweep dead nodes: %w", err)
	}
	return out, nil
}
