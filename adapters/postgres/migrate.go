package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidings-chat/tidings/adapters/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the pg_advisory_lock key Migrate holds while it
// works ("tidings" in ASCII, then 1). Advisory locks are per database, so
// migrations of different schemas of one database also take turns.
const migrationLockKey int64 = 0x74_69_64_69_6e_67_73_01

// migration is one embedded SQL file.
type migration struct {
	version  int
	name     string // file name, e.g. 0002_sendlog.sql
	sql      string
	checksum [sha256.Size]byte
}

// loadMigrations returns the embedded migrations by version. Versions must
// run 1, 2, 3, ... without gaps or repeats.
func loadMigrations() ([]migration, error) {
	files, err := migrations.Load(migrationFiles, "migrations", "sql")
	if err != nil {
		return nil, err
	}
	ms := make([]migration, 0, len(files))
	for _, f := range files {
		ms = append(ms, migration{version: f.Version, name: f.Name, sql: string(f.Body), checksum: f.Checksum})
	}
	return ms, nil
}

// Migrate brings the schema up to date: it applies each embedded migration
// not yet recorded in schema_migrations, in version order, each in its own
// transaction together with its record. It is idempotent, and safe to run
// from several processes at once: they take turns on a PostgreSQL advisory
// lock, and a later one finds the work done.
//
// A recorded migration whose file has changed since (its SHA-256 differs)
// is an error: fix a released migration with a new one. Versions recorded
// but unknown to this binary (a newer binary migrated) are left alone, so
// every migration must keep the schema usable by the previous release.
func (d *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return fmt.Errorf("migrate: take advisory lock: %w", err)
	}
	defer func() {
		// The lock belongs to the session: unlock even when ctx is done, and
		// close the connection if that fails, which releases it too.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", migrationLockKey); err != nil {
			_ = conn.Conn().Close(uctx)
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		checksum   bytea       NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied, err := appliedMigrations(ctx, conn.Conn())
	if err != nil {
		return err
	}
	for _, m := range ms {
		if sum, ok := applied[m.version]; ok {
			if !bytes.Equal(sum, m.checksum[:]) {
				return fmt.Errorf("migration %s changed after it was applied (checksum differs); add a new migration instead", m.name)
			}
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
				m.version, m.name, m.checksum[:])
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
	}
	return nil
}

// appliedMigrations returns the checksum of each recorded version.
func appliedMigrations(ctx context.Context, conn *pgx.Conn) (map[int][]byte, error) {
	rows, err := conn.Query(ctx, "SELECT version, checksum FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	applied := map[int][]byte{}
	var (
		v   int
		sum []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&v, &sum}, func() error {
		applied[v] = slices.Clone(sum)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return applied, nil
}
