package cassandra_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/cassandra"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := func() cassandra.Config {
		return cassandra.Config{Hosts: []string{"127.0.0.1:19042"}, Keyspace: "tidings"}
	}
	with := func(f func(*cassandra.Config)) cassandra.Config {
		c := good()
		f(&c)
		return c
	}
	tests := []struct {
		name     string
		cfg      cassandra.Config
		defaults bool
		wantErrs []string // substrings of the error; none: valid
	}{
		{name: "MinimalWithDefaults", cfg: good(), defaults: true},
		{name: "Everything", cfg: cassandra.Config{Hosts: []string{"10.0.0.1:9042", "[::1]:9042", "cass-1.internal:9042"},
			Keyspace: "tidings_prod_2", Consistency: "local_one", ReplicationFactor: 3, LocalDC: "dc1",
			Timeout: time.Second, ConnectTimeout: time.Second, NumConns: 4, BatchBytes: 50 << 10, BatchesInFlight: 1, KeyBatches: cassandra.KeyBatchesPerKey,
			Username: "tidings", Password: "s3cret"}},
		{name: "Empty", cfg: cassandra.Config{}, defaults: true,
			wantErrs: []string{"hosts are empty", `keyspace "" is not a valid name`}},
		{name: "NoDefaults", cfg: good(), wantErrs: []string{`consistency "" is unknown`, "replication factor is 0",
			"timeout is 0s", "connect timeout is 0s", "conns per host is 0", "batch bytes is 0", "batches in flight is 0"}},
		{name: "HostWithoutPort", cfg: with(func(c *cassandra.Config) { c.Hosts = []string{"127.0.0.1"} }), defaults: true,
			wantErrs: []string{`host "127.0.0.1" is not host:port`}},
		{name: "HostWithBadPort", cfg: with(func(c *cassandra.Config) { c.Hosts = []string{"127.0.0.1:19042", "h:0", "h:cql"} }),
			defaults: true, wantErrs: []string{`host "h:0": port "0"`, `host "h:cql": port "cql"`}},
		{name: "EmptyHost", cfg: with(func(c *cassandra.Config) { c.Hosts = []string{":9042"} }), defaults: true,
			wantErrs: []string{`host ":9042" is not host:port`}},
		{name: "KeyspaceUpperCase", cfg: with(func(c *cassandra.Config) { c.Keyspace = "Tidings" }), defaults: true,
			wantErrs: []string{`keyspace "Tidings"`}},
		{name: "KeyspaceInjection", cfg: with(func(c *cassandra.Config) { c.Keyspace = "x; DROP KEYSPACE system" }), defaults: true,
			wantErrs: []string{"is not a valid name"}},
		{name: "KeyspaceTooLong", cfg: with(func(c *cassandra.Config) { c.Keyspace = "k" + strings.Repeat("x", 48) }), defaults: true,
			wantErrs: []string{"is not a valid name"}},
		{name: "UnknownConsistency", cfg: with(func(c *cassandra.Config) { c.Consistency = "MOST" }), defaults: true,
			wantErrs: []string{`consistency "MOST" is unknown`}},
		{name: "ConsistencyAny", cfg: with(func(c *cassandra.Config) { c.Consistency = "ANY" }), defaults: true,
			wantErrs: []string{"ANY cannot be used"}},
		{name: "Negative", cfg: with(func(c *cassandra.Config) {
			c.ReplicationFactor, c.Timeout, c.ConnectTimeout, c.NumConns = -1, -time.Second, -time.Second, -2
			c.BatchBytes, c.BatchesInFlight, c.KeyBatches = -1, -3, "some"
		}), defaults: true, wantErrs: []string{"replication factor is -1", "timeout is -1s", "connect timeout is -1s", "conns per host is -2",
			"batch bytes is -1", "batches in flight is -3", `key batches is "some"`}},
		{name: "PasswordWithoutUser", cfg: with(func(c *cassandra.Config) { c.Password = "s3cret" }), defaults: true,
			wantErrs: []string{"password is set without a username"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if tt.defaults {
				cfg.SetDefaults()
			}
			err := cfg.Validate()
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v; want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil; want errors %q", tt.wantErrs)
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate: %q; want it to say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Validate shows the password: %q", err)
			}
		})
	}
}

func TestConfigSetDefaults(t *testing.T) {
	t.Parallel()
	var c cassandra.Config
	c.SetDefaults()
	want := cassandra.Config{Consistency: "LOCAL_QUORUM", ReplicationFactor: 1, Timeout: cassandra.DefaultTimeout,
		ConnectTimeout: cassandra.DefaultConnectTimeout, NumConns: cassandra.DefaultNumConns,
		BatchBytes: 5 << 10, BatchesInFlight: cassandra.DefaultBatchesInFlight}
	if c.String() != want.String() {
		t.Fatalf("defaults: %v; want %v", c, want)
	}
	set := cassandra.Config{Consistency: "ONE", ReplicationFactor: 3, Timeout: time.Second, ConnectTimeout: time.Second, NumConns: 7,
		BatchBytes: 100, BatchesInFlight: 2}
	c = set
	c.SetDefaults()
	if c.String() != set.String() {
		t.Fatalf("SetDefaults changed set fields: %v; want %v", c, set)
	}
}

func TestConfigStringHidesPassword(t *testing.T) {
	t.Parallel()
	c := cassandra.Config{Hosts: []string{"127.0.0.1:19042"}, Keyspace: "tidings", Username: "tidings", Password: "s3cret"}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "s3cret") || !strings.Contains(s, "user=tidings") {
			t.Errorf("%q: want the user and not the password", s)
		}
	}
}
