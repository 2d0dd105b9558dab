package cassandra_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/cassandra"
	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// The tests in this file need a real Cassandra. scripts/services.sh starts
// one:
//
//	bash scripts/services.sh up cassandra
//	eval "$(bash scripts/services.sh env)"
//	go test -count=1 ./adapters/cassandra/
//
// They share one keyspace, migrated once per test binary, and run one at a
// time: the contract empties the store (TRUNCATE) before each case.
const (
	hostsEnv     = "TIDINGS_CASSANDRA_HOSTS"
	testKeyspace = "tidings_test_views"
)

// testConfig returns the configuration of the test keyspace. Without a
// server the test is skipped, or fails when TIDINGS_REQUIRE_SERVICES=1 (CI).
func testConfig(t testing.TB) cassandra.Config {
	t.Helper()
	hosts := os.Getenv(hostsEnv)
	if hosts == "" {
		const why = hostsEnv + " is not set: no Cassandra to test against " +
			"(bash scripts/services.sh up cassandra; eval \"$(bash scripts/services.sh env)\")"
		if os.Getenv("TIDINGS_REQUIRE_SERVICES") == "1" {
			t.Fatal(why + ", and TIDINGS_REQUIRE_SERVICES=1 requires it")
		}
		t.Skip(why)
	}
	ks := testKeyspace
	if own := os.Getenv("TIDINGS_TEST_CASSANDRA_KEYSPACE"); own != "" {
		ks = own // a keyspace of one's own on a shared Cassandra
	}
	return cassandra.Config{Hosts: strings.Split(hosts, ","), Keyspace: ks}
}

var shared struct {
	once  sync.Once
	views *cassandra.Views
	err   error
}

// sharedViews returns the store on the test keyspace, migrating and
// opening it on first use; TestMain closes it.
func sharedViews(t testing.TB) *cassandra.Views {
	t.Helper()
	cfg := testConfig(t)
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if shared.err = cassandra.Migrate(ctx, cfg); shared.err == nil {
			shared.views, shared.err = cassandra.Open(ctx, cfg)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.views
}

// emptyViews returns the shared store after a Reset.
func emptyViews(t *testing.T) projections.Store {
	t.Helper()
	v := sharedViews(t)
	if err := v.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.views != nil {
		shared.views.Close()
	}
	os.Exit(code)
}

func TestViewsContract(t *testing.T) {
	sharedViews(t) // skip or fail once here rather than in every case
	contract.TestViewsWith(t, contract.ViewsFeatures{BlindFeedWrites: true,
		ExpireFeed: func(t *testing.T, s projections.Store, u domain.UserID, before domain.Position) {
			t.Helper()
			if err := s.(*cassandra.Views).DropFeedBefore(t.Context(), u, before); err != nil {
				t.Fatal(err)
			}
		},
		Reopen: func(t *testing.T, _ projections.Store) projections.Store {
			t.Helper()
			v, err := cassandra.Open(t.Context(), testConfig(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(v.Close)
			return v
		}}, emptyViews)
}

// The same contract with one key per batch, as on a cluster of several
// nodes (the test node is alone, so the shared store packs keys together).
func TestViewsContractPerKeyBatches(t *testing.T) {
	shared := sharedViews(t)
	if got := shared.KeyBatches(); got != cassandra.KeyBatchesCrossKey {
		t.Fatalf("a node alone: key batches %s, want %s", got, cassandra.KeyBatchesCrossKey)
	}
	cfg := testConfig(t)
	cfg.KeyBatches = cassandra.KeyBatchesPerKey
	v, err := cassandra.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	contract.TestViewsWith(t, contract.ViewsFeatures{BlindFeedWrites: true}, func(t *testing.T) projections.Store {
		t.Helper()
		if err := v.Reset(t.Context()); err != nil {
			t.Fatal(err)
		}
		return v
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	sharedViews(t) // migrated once already
	cfg := testConfig(t)
	if err := cassandra.Migrate(t.Context(), cfg); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	v, err := cassandra.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open after a second Migrate: %v", err)
	}
	defer v.Close()
	if err := v.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenWithoutMigrate(t *testing.T) {
	cfg := testConfig(t)
	cfg.Keyspace = "tidings_test_never_migrated"
	v, err := cassandra.Open(t.Context(), cfg)
	if err == nil {
		v.Close()
		t.Fatal("Open of a keyspace that Migrate never made: nil error")
	}
	if !strings.Contains(err.Error(), "Migrate") {
		t.Fatalf("Open: %v; want it to mention Migrate", err)
	}
}
