package cassandra

import (
	"bufio"
	"context"
	"embed"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/gocql/gocql"

	"github.com/tidings-chat/tidings/adapters/internal/migrations"
)

//go:embed migrations/*.cql
var migrationFiles embed.FS

// migration is one embedded CQL file.
type migration struct {
	version  int
	name     string // file name, e.g. 0001_views.cql
	stmts    []string
	checksum string // hex SHA-256 of the file
}

// loadMigrations returns the embedded migrations by version. Versions must
// run 1, 2, 3, ... without gaps or repeats.
func loadMigrations() ([]migration, error) {
	files, err := migrations.Load(migrationFiles, "migrations", "cql")
	if err != nil {
		return nil, err
	}
	ms := make([]migration, 0, len(files))
	for _, f := range files {
		stmts, err := splitStatements(string(f.Body))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", f.Name, err)
		}
		ms = append(ms, migration{version: f.Version, name: f.Name, stmts: stmts, checksum: hex.EncodeToString(f.Checksum[:])})
	}
	return ms, nil
}

// splitStatements cuts a CQL file into statements: lines starting with
// "--" are comments, and a statement ends with a line ending in ';'.
func splitStatements(src string) ([]string, error) {
	var (
		out []string
		cur []string
	)
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		if stmt, done := strings.CutSuffix(line, ";"); done {
			out = append(out, strings.Join(append(cur, stmt), "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		return nil, fmt.Errorf("statement without a closing ';': %.40q", cur[0])
	}
	return out, sc.Err()
}

const (
	createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    int PRIMARY KEY,
    name       text,
    checksum   text,
    applied_at timestamp
)`
	selectMigrations = `SELECT version, name, checksum FROM schema_migrations`
	insertMigration  = `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`
)

// Migrate creates the keyspace if it does not exist (SimpleStrategy with
// cfg.ReplicationFactor; an existing keyspace keeps its replication) and
// applies, in version order, each embedded migration not yet recorded in
// its schema_migrations table, recording each after all its statements
// succeed. Every statement is CREATE ... IF NOT EXISTS, so Migrate is
// idempotent and a run cut short is finished by the next one.
//
// Run it from one process at a time (a deploy step or a single init
// container): Cassandra does not serialize schema changes, and the same
// table created concurrently through two coordinators can end up with two
// conflicting table IDs. A recorded migration whose file has changed since
// is an error: change a released schema with a new migration. Versions
// recorded but unknown to this binary (a newer one migrated) are left alone.
func Migrate(ctx context.Context, cfg Config) error {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if err := createKeyspace(ctx, cfg); err != nil {
		return err
	}
	s, err := newSession(cfg, cfg.Keyspace)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Query(createMigrationsTable).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("create %s.schema_migrations: %w", cfg.Keyspace, err)
	}
	applied := map[int]string{}
	iter := s.Query(selectMigrations).WithContext(ctx).Iter()
	var (
		version        int
		name, checksum string
	)
	for iter.Scan(&version, &name, &checksum) {
		applied[version] = checksum
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("read %s.schema_migrations: %w", cfg.Keyspace, err)
	}
	for _, m := range ms {
		if sum, ok := applied[m.version]; ok {
			if sum != m.checksum {
				return fmt.Errorf("migration %s was applied to %s with different contents (checksum %s, file %s): "+
					"add a new migration instead of editing a released one", m.name, cfg.Keyspace, sum, m.checksum)
			}
			continue
		}
		for i, stmt := range m.stmts {
			if err := s.Query(stmt).WithContext(ctx).Exec(); err != nil {
				return fmt.Errorf("migration %s, statement %d: %w", m.name, i+1, err)
			}
		}
		if err := s.Query(insertMigration, m.version, m.name, m.checksum, time.Now()).WithContext(ctx).Exec(); err != nil {
			return fmt.Errorf("record migration %s: %w", m.name, err)
		}
	}
	return nil
}

// createKeyspace creates cfg.Keyspace with SimpleStrategy unless it exists.
// The name and factor are validated, so formatting them into CQL is safe.
func createKeyspace(ctx context.Context, cfg Config) error {
	s, err := newSession(cfg, "")
	if err != nil {
		return err
	}
	defer s.Close()
	stmt := fmt.Sprintf(`CREATE KEYSPACE IF NOT EXISTS %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': %d}`,
		cfg.Keyspace, cfg.ReplicationFactor)
	if err := s.Query(stmt).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("create keyspace %s: %w", cfg.Keyspace, err)
	}
	return nil
}

// newSession connects to the cluster, using keyspace unless it is "".
func newSession(cfg Config, keyspace string) (*gocql.Session, error) {
	cc, err := cfg.cluster(keyspace)
	if err != nil {
		return nil, err
	}
	s, err := cc.CreateSession()
	if err != nil {
		if keyspace != "" {
			return nil, fmt.Errorf("connect to cassandra %s, keyspace %s (has Migrate run?): %w",
				strings.Join(cfg.Hosts, ","), keyspace, err)
		}
		return nil, fmt.Errorf("connect to cassandra %s: %w", strings.Join(cfg.Hosts, ","), err)
	}
	return s, nil
}
