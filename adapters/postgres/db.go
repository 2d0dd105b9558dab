package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is a pool of connections to one PostgreSQL database and the stores
// built on it. Safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	desc string // "postgres user@host:port/database": safe in errors and logs
}

// Open connects to the database cfg names, after applying cfg's defaults
// and validating it, and checks that the server answers. It does not change
// the schema: call Migrate for that. The caller must Close the DB.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pc, err := cfg.poolConfig()
	if err != nil {
		return nil, err
	}
	desc := "postgres " + cfg.target()
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	d := &DB{pool: pool, desc: desc}
	if err := d.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return d, nil
}

// Ping reports whether the server answers a query on a pooled connection.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", d.desc, err)
	}
	return nil
}

// Close waits for borrowed connections to come back and closes the pool.
// The stores made from d must not be used afterwards.
func (d *DB) Close() { d.pool.Close() }

// Accounts returns the account store (tables users and tokens).
func (d *DB) Accounts() *Accounts { return &Accounts{pool: d.pool} }

// SendLog returns the send log (table send_log).
func (d *DB) SendLog() *SendLog { return &SendLog{pool: d.pool} }

// SQLSTATE codes this package reacts to.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// isUniqueViolation reports whether err is a unique violation of the named
// constraint.
func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation && pgErr.ConstraintName == constraint
}

// isForeignKeyViolation reports whether err is a foreign key violation of
// the named constraint.
func isForeignKeyViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeForeignKeyViolation && pgErr.ConstraintName == constraint
}
