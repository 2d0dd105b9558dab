package cassandra

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gocql/gocql"
)

// Defaults applied by Config.SetDefaults.
const (
	DefaultConsistency       = "LOCAL_QUORUM"
	DefaultReplicationFactor = 1
	DefaultTimeout           = 10 * time.Second
	DefaultConnectTimeout    = 5 * time.Second
	DefaultNumConns          = 2
	// DefaultBatchBytes is Cassandra's default batch_size_warn_threshold
	// (5 KiB).
	DefaultBatchBytes      = 5 << 10
	DefaultBatchesInFlight = 16

	KeyBatchesAuto     = "auto"
	KeyBatchesPerKey   = "per-key"
	KeyBatchesCrossKey = "cross-key"
)

// Config says how to reach Cassandra and where the views live. Its String
// method never shows the password, so a Config may be logged with %v.
type Config struct {
	// Hosts are the contact points, each "host:port" (an IP address is best:
	// the driver indexes nodes by the addresses Cassandra announces). The
	// rest of the ring is discovered from them.
	Hosts []string
	// Keyspace holds the view tables: a lower-case letter, then up to 47
	// lower-case letters, digits or underscores (CQL folds unquoted names to
	// lower case; the driver quotes them).
	Keyspace string
	// Consistency is the level of every read and write: ONE, TWO, THREE,
	// QUORUM, ALL, LOCAL_QUORUM, EACH_QUORUM or LOCAL_ONE (ANY cannot
	// read). With the default LOCAL_QUORUM for both, a read sees every
	// acknowledged write of its data center.
	Consistency string
	// ReplicationFactor is used by Migrate only, when it creates the
	// keyspace with SimpleStrategy (fine for development and single-data-
	// center test clusters). In production create the keyspace yourself
	// first, e.g.
	//
	//	CREATE KEYSPACE tidings WITH replication =
	//	  {'class': 'NetworkTopologyStrategy', 'dc1': 3};
	//
	// Migrate then leaves its replication alone and only adds the tables.
	ReplicationFactor int
	// LocalDC, when set, keeps requests in that data center (DC-aware
	// round robin under token awareness); leave it empty for one data center.
	LocalDC string
	// Timeout bounds each request, including Reset's TRUNCATEs: raise it when
	// the cluster snapshots on truncate (auto_snapshot: true).
	Timeout time.Duration
	// ConnectTimeout bounds dialing a node and the connection handshake.
	ConnectTimeout time.Duration
	// NumConns is the number of connections kept to each node.
	NumConns int
	// BatchBytes bounds the estimated size of one batch of ApplyBatch:
	// the statements of one partition key that would exceed it go into
	// further batches. A single statement larger than it is sent alone.
	// Keep it at or under the cluster's batch_size_warn_threshold.
	BatchBytes int
	// BatchesInFlight bounds the batches one ApplyBatch has in flight at a
	// time (the batches of different partition keys are sent
	// concurrently).
	BatchesInFlight int
	// KeyBatches says how ApplyBatch groups its statements: KeyBatchesPerKey
	// puts only the statements of one partition key in a batch (the driver
	// sends it to a replica of that key); KeyBatchesCrossKey packs the
	// statements of any keys into batches of up to BatchBytes, far fewer
	// requests for the same rows, which is only wise when every key lives on
	// the node that receives the batch; KeyBatchesAuto (the default) is
	// cross-key on a cluster of one node (system.peers is empty) and
	// per-key otherwise.
	KeyBatches string
	// Username and Password, when set, authenticate with Cassandra's
	// PasswordAuthenticator.
	Username string
	Password string
}

// SetDefaults fills the zero fields: Consistency DefaultConsistency,
// ReplicationFactor DefaultReplicationFactor, Timeout DefaultTimeout,
// ConnectTimeout DefaultConnectTimeout, NumConns DefaultNumConns,
// BatchBytes DefaultBatchBytes, BatchesInFlight DefaultBatchesInFlight.
func (c *Config) SetDefaults() {
	if c.Consistency == "" {
		c.Consistency = DefaultConsistency
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = DefaultReplicationFactor
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.NumConns == 0 {
		c.NumConns = DefaultNumConns
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.KeyBatches == "" {
		c.KeyBatches = KeyBatchesAuto
	}
	if c.BatchesInFlight == 0 {
		c.BatchesInFlight = DefaultBatchesInFlight
	}
}

var keyspaceName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// Validate reports every problem of c at once (errors.Join). Call it after
// SetDefaults. Its messages never show the password.
func (c Config) Validate() error {
	var errs []error
	if len(c.Hosts) == 0 {
		errs = append(errs, errors.New("cassandra hosts are empty; give at least one host:port"))
	}
	for _, h := range c.Hosts {
		if err := checkHost(h); err != nil {
			errs = append(errs, err)
		}
	}
	if !keyspaceName.MatchString(c.Keyspace) {
		errs = append(errs, fmt.Errorf("cassandra keyspace %q is not a valid name: "+
			"a lower-case letter, then up to 47 lower-case letters, digits or underscores", c.Keyspace))
	}
	if _, err := c.consistency(); err != nil {
		errs = append(errs, err)
	}
	if c.ReplicationFactor < 1 {
		errs = append(errs, fmt.Errorf("cassandra replication factor is %d; it must be at least 1", c.ReplicationFactor))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("cassandra timeout is %s; it must be positive", c.Timeout))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, fmt.Errorf("cassandra connect timeout is %s; it must be positive", c.ConnectTimeout))
	}
	if c.NumConns < 1 {
		errs = append(errs, fmt.Errorf("cassandra conns per host is %d; it must be at least 1", c.NumConns))
	}
	if c.BatchBytes < 1 {
		errs = append(errs, fmt.Errorf("cassandra batch bytes is %d; it must be at least 1", c.BatchBytes))
	}
	switch c.KeyBatches {
	case KeyBatchesAuto, KeyBatchesPerKey, KeyBatchesCrossKey:
	default:
		errs = append(errs, fmt.Errorf("cassandra key batches is %q; it must be %s, %s or %s", c.KeyBatches, KeyBatchesAuto, KeyBatchesPerKey, KeyBatchesCrossKey))
	}
	if c.BatchesInFlight < 1 {
		errs = append(errs, fmt.Errorf("cassandra batches in flight is %d; it must be at least 1", c.BatchesInFlight))
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, errors.New("cassandra password is set without a username"))
	}
	return errors.Join(errs...)
}

func checkHost(h string) error {
	host, port, err := net.SplitHostPort(h)
	if err != nil || host == "" {
		return fmt.Errorf("cassandra host %q is not host:port", h)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("cassandra host %q: port %q is not a number from 1 to 65535", h, port)
	}
	return nil
}

func (c Config) consistency() (gocql.Consistency, error) {
	level, err := gocql.ParseConsistencyWrapper(c.Consistency)
	if err != nil {
		return 0, fmt.Errorf("cassandra consistency %q is unknown; use ONE, TWO, THREE, QUORUM, ALL, "+
			"LOCAL_QUORUM, EACH_QUORUM or LOCAL_ONE", c.Consistency)
	}
	if level == gocql.Any {
		return 0, errors.New("cassandra consistency ANY cannot be used: the views are read at the same level")
	}
	return level, nil
}

// String describes c without its password.
func (c Config) String() string {
	user := ""
	if c.Username != "" {
		user = " user=" + c.Username
	}
	return fmt.Sprintf("cassandra hosts=%s keyspace=%s consistency=%s rf=%d local_dc=%q timeout=%s connect_timeout=%s conns=%d "+
		"batch_bytes=%d batches_in_flight=%d%s",
		strings.Join(c.Hosts, ","), c.Keyspace, c.Consistency, c.ReplicationFactor, c.LocalDC,
		c.Timeout, c.ConnectTimeout, c.NumConns, c.BatchBytes, c.BatchesInFlight, user)
}

// GoString keeps %#v from printing the password.
func (c Config) GoString() string { return "cassandra.Config{" + c.String() + "}" }

// cluster turns a validated Config into a driver configuration for
// keyspace ("" for none). Requests go to a replica of their partition
// first (token aware), with retries, which are safe because every
// statement of this package is idempotent.
func (c Config) cluster(keyspace string) (*gocql.ClusterConfig, error) {
	level, err := c.consistency()
	if err != nil {
		return nil, err
	}
	cc := gocql.NewCluster(c.Hosts...)
	cc.Keyspace = keyspace
	cc.Consistency = level
	cc.Timeout = c.Timeout
	cc.ConnectTimeout = c.ConnectTimeout
	cc.NumConns = c.NumConns
	fallback := gocql.RoundRobinHostPolicy()
	if c.LocalDC != "" {
		fallback = gocql.DCAwareRoundRobinPolicy(c.LocalDC)
	}
	cc.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(fallback)
	cc.RetryPolicy = &gocql.ExponentialBackoffRetryPolicy{NumRetries: 3, Min: 50 * time.Millisecond, Max: time.Second}
	if c.Username != "" {
		cc.Authenticator = gocql.PasswordAuthenticator{Username: c.Username, Password: c.Password}
	}
	return cc, nil
}
