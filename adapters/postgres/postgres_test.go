package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/adapters/postgres"
	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

// The tests below need a real server. scripts/services.sh starts one:
//
//	bash scripts/services.sh up postgres
//	eval "$(bash scripts/services.sh env)"
//	go test -count=1 ./adapters/postgres/
const urlEnv = "TIDINGS_POSTGRES_URL"

func TestAccountsContract(t *testing.T) {
	t.Parallel()
	serverURL(t) // skip once here rather than in every case
	contract.TestAccounts(t, func(t *testing.T) commands.Accounts { return openDB(t).Accounts() })
}

func TestDataKeysContract(t *testing.T) {
	contract.TestDataKeys(t, func(t *testing.T) contract.KeyStore { return openDB(t).Accounts() })
}

func TestSendLogContract(t *testing.T) {
	t.Parallel()
	serverURL(t)
	contract.TestSendLog(t, func(t *testing.T) commands.SendLog { return openDB(t).SendLog() })
}

// serverURL returns the test server's URL. Without one the test is skipped,
// or fails when TIDINGS_REQUIRE_SERVICES=1 (CI).
func serverURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(urlEnv)
	if u != "" {
		return u
	}
	const why = urlEnv + " is not set: no PostgreSQL to test against " +
		"(bash scripts/services.sh up postgres; eval \"$(bash scripts/services.sh env)\")"
	if os.Getenv("TIDINGS_REQUIRE_SERVICES") == "1" {
		t.Fatal(why + ", and TIDINGS_REQUIRE_SERVICES=1 requires it")
	}
	t.Skip(why)
	return ""
}

// freshSchema creates an empty schema, dropped when the test ends, and
// returns the server URL with search_path set to it.
func freshSchema(t *testing.T) string {
	t.Helper()
	base := serverURL(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL for the tests (they add search_path to it)", urlEnv)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	admin(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { admin(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// onConn runs fn on a connection of its own to connURL.
func onConn(t *testing.T, connURL string, fn func(ctx context.Context, conn *pgx.Conn)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	fn(ctx, conn)
}

// admin runs one statement on a connection of its own.
func admin(t *testing.T, connURL, sql string) {
	t.Helper()
	onConn(t, connURL, func(ctx context.Context, conn *pgx.Conn) {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	})
}

// openAt opens a DB on connURL without migrating; closed when the test ends.
func openAt(t *testing.T, connURL string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), postgres.Config{URL: connURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// openDB returns a migrated DB on an empty schema of its own.
func openDB(t *testing.T) *postgres.DB {
	t.Helper()
	db := openAt(t, freshSchema(t))
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestPruneSendLog(t *testing.T) {
	t.Parallel()
	connURL := freshSchema(t)
	db := openAt(t, connURL)
	ctx := t.Context()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	rec := func(cmid string) commands.SendRecord {
		return commands.SendRecord{From: "alice", ClientMsgID: cmid, ID: domain.MessageID(domain.NewID(now)),
			To: "bob", SentAt: now, Digest: [32]byte{7}}
	}
	for _, cmid := range []string{"old", "new"} {
		if _, created, err := db.SendLog().Reserve(ctx, rec(cmid)); err != nil || !created {
			t.Fatalf("Reserve %s: created=%v err=%v", cmid, created, err)
		}
	}
	admin(t, connURL, "UPDATE send_log SET created_at = now() - interval '8 days' WHERE client_msg_id = 'old'")

	if _, err := db.SendLog().Prune(ctx, 0); err == nil {
		t.Fatal("Prune(0) succeeded; want an error")
	}
	n, err := db.SendLog().Prune(ctx, commands.SendLogRetention)
	if err != nil || n != 1 {
		t.Fatalf("Prune: %d, %v; want 1 deleted", n, err)
	}
	// The pruned key is free again; the kept one still answers with its record.
	if _, created, err := db.SendLog().Reserve(ctx, rec("old")); err != nil || !created {
		t.Fatalf("Reserve of pruned key: created=%v err=%v; want a new record", created, err)
	}
	if _, created, err := db.SendLog().Reserve(ctx, rec("new")); err != nil || created {
		t.Fatalf("Reserve of kept key: created=%v err=%v; want the stored record", created, err)
	}
}

func TestUserTimesAreUTC(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 12, 30, 0, 123456000, time.FixedZone("CET", 3600))
	u := domain.User{ID: domain.UserID(domain.NewID(at)), Name: "carol", CreatedAt: at}
	if err := db.Accounts().CreateUser(ctx, u, nil, commands.Session{Token: commands.HashToken("t"), User: u.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Accounts().User(ctx, u.ID)
	if err != nil || got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(at) {
		t.Fatalf("User: %+v, %v; want CreatedAt %s in UTC", got, err, at)
	}
}
