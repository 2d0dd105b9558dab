package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// queryInt runs a query returning one integer on a connection of its own.
func queryInt(t *testing.T, connURL, sql string) int {
	t.Helper()
	var n int
	onConn(t, connURL, func(ctx context.Context, conn *pgx.Conn) {
		if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	})
	return n
}

// wantMigrations is the number of migration files: every one must be
// applied, and recorded once.
var wantMigrations = func() int {
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		panic(fmt.Sprintf("no migrations found: %v", err))
	}
	return len(files)
}()

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	connURL := freshSchema(t)
	db := openAt(t, connURL)
	for i := range 2 {
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	if n := queryInt(t, connURL, "SELECT count(*) FROM schema_migrations"); n != wantMigrations {
		t.Fatalf("schema_migrations has %d rows, want %d", n, wantMigrations)
	}
	if n := queryInt(t, connURL, "SELECT max(version) FROM schema_migrations"); n != wantMigrations {
		t.Fatalf("latest version %d, want %d", n, wantMigrations)
	}
}

// Two pools stand for two processes starting at once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	connURL := freshSchema(t)
	dbs := []interface{ Migrate(context.Context) error }{openAt(t, connURL), openAt(t, connURL)}
	const perDB = 3
	var wg sync.WaitGroup
	errs := make(chan error, len(dbs)*perDB)
	for _, db := range dbs {
		for range perDB {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- db.Migrate(t.Context())
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	if n := queryInt(t, connURL, "SELECT count(*) FROM schema_migrations"); n != wantMigrations {
		t.Fatalf("schema_migrations has %d rows, want %d", n, wantMigrations)
	}
}

func TestMigrateRejectsChangedMigration(t *testing.T) {
	t.Parallel()
	connURL := freshSchema(t)
	db := openAt(t, connURL)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	admin(t, connURL, "UPDATE schema_migrations SET checksum = '\\x00' WHERE version = 2")
	err := db.Migrate(t.Context())
	if err == nil || !strings.Contains(err.Error(), "0002_sendlog.sql") {
		t.Fatalf("Migrate after a recorded checksum changed: %v; want an error naming 0002_sendlog.sql", err)
	}
}
