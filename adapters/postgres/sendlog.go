package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

var _ commands.SendLog = (*SendLog)(nil)

// pruneBatch bounds the rows one DELETE of Prune removes, so a sweep
// never holds many row locks or one long transaction.
const pruneBatch = 5000

// SendLog keeps client_msg_id reservations in table send_log, keyed by
// (from_user, client_msg_id) and stamped with the database's clock in
// created_at. Rows live until Prune removes them. Safe for
// concurrent use.
type SendLog struct {
	pool *pgxpool.Pool
}

// Reserve implements commands.SendLog with INSERT ... ON CONFLICT DO
// NOTHING: of concurrent calls for one key exactly one inserts, the others
// wait for it to commit and then read its row. The record returned, created
// or not, is the row as stored (SentAt in UTC, microsecond precision).
func (s *SendLog) Reserve(ctx context.Context, rec commands.SendRecord) (commands.SendRecord, bool, error) {
	// A winner's row can vanish before a loser reads it only if Prune
	// deletes it in between; then the next attempt inserts.
	for range 3 {
		stored, err := scanSendRecord(s.pool.QueryRow(ctx, `INSERT INTO send_log
			(from_user, client_msg_id, message_id, to_user, sent_at, digest)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (from_user, client_msg_id) DO NOTHING
			RETURNING from_user, client_msg_id, message_id, to_user, sent_at, digest`,
			string(rec.From), rec.ClientMsgID, string(rec.ID), string(rec.To), rec.SentAt, rec.Digest[:]))
		if err == nil {
			return stored, true, nil
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return commands.SendRecord{}, false, fmt.Errorf("reserve send record of %s: %w", rec.From, err)
		}
		stored, err = scanSendRecord(s.pool.QueryRow(ctx, `SELECT
			from_user, client_msg_id, message_id, to_user, sent_at, digest
			FROM send_log WHERE from_user = $1 AND client_msg_id = $2`, string(rec.From), rec.ClientMsgID))
		if err == nil {
			return stored, false, nil
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return commands.SendRecord{}, false, fmt.Errorf("read send record of %s: %w", rec.From, err)
		}
	}
	return commands.SendRecord{}, false, fmt.Errorf("reserve send record of %s: row kept disappearing", rec.From)
}

// scanSendRecord reads one send_log row; domain.ErrNotFound when there is
// none.
func scanSendRecord(row pgx.Row) (commands.SendRecord, error) {
	var (
		from, cmid, id, to string
		sentAt             time.Time
		digest             []byte
	)
	if err := row.Scan(&from, &cmid, &id, &to, &sentAt, &digest); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return commands.SendRecord{}, domain.ErrNotFound
		}
		return commands.SendRecord{}, err
	}
	rec := commands.SendRecord{From: domain.UserID(from), ClientMsgID: cmid, ID: domain.MessageID(id),
		To: domain.UserID(to), SentAt: sentAt.UTC()}
	if len(digest) != len(rec.Digest) {
		return commands.SendRecord{}, fmt.Errorf("send record digest has %d bytes, want %d", len(digest), len(rec.Digest))
	}
	copy(rec.Digest[:], digest)
	return rec, nil
}

// Prune implements commands.SendLog: it deletes the reservations whose
// created_at is more than olderThan before the database's clock, in
// batches of pruneBatch rows.
func (s *SendLog) Prune(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan <= 0 {
		return 0, fmt.Errorf("prune send log: retention %s must be positive", olderThan)
	}
	var cutoff time.Time
	if err := s.pool.QueryRow(ctx, "SELECT now() - make_interval(secs => $1)", olderThan.Seconds()).Scan(&cutoff); err != nil {
		return 0, fmt.Errorf("prune send log: read clock: %w", err)
	}
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM send_log WHERE (from_user, client_msg_id) IN (
			SELECT from_user, client_msg_id FROM send_log WHERE created_at < $1 LIMIT $2)`, cutoff, pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune send log: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < pruneBatch {
			return total, nil
		}
	}
}
