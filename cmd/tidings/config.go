package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidings-chat/tidings/adapters/httpapi"
)

// config is every setting of a tidings process. Flags override TIDINGS_*
// environment variables, which override the defaults.
type config struct {
	Addr             string
	Data             string
	OpenRegistration bool
	SendBurst        int
	SendPerSecond    float64
	// Per client address, per minute: sign-ups (POST /users) and
	// sign-ins (POST /sessions).
	SignUpBurst     int
	SignUpPerMinute float64
	SignInBurst     int
	SignInPerMinute float64
	// TrustedProxies are the comma-separated addresses or CIDR prefixes
	// of proxies whose X-Forwarded-For names the client.
	TrustedProxies string
	// SessionLifetime is how long a token works after it is issued.
	SessionLifetime time.Duration
	ConsistencyWait time.Duration
	ShutdownTimeout time.Duration
	DrainDelay      time.Duration
	MetricsToken    string
	LogLevel        string
	// CPUProfile, when set, is where serve writes a CPU profile of its
	// whole run (for go tool pprof).
	CPUProfile string
	// WSOrigins are the comma-separated origin host patterns allowed to
	// open WebSockets from another origin; empty: same origin only.
	WSOrigins string

	// Backends: empty means embedded.
	KafkaBrokers     string
	KafkaTopic       string
	KafkaPartitions  int
	KafkaReplication int
	KafkaVersion     string

	PostgresURL          string
	CassandraHosts       string
	CassandraKeyspace    string
	CassandraConsistency string
	CassandraReplication int
	// Migrate applies the schema migrations of the real stores on start.
	Migrate bool
}

func (c *config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", env("TIDINGS_ADDR", ":8080"), "HTTP listen address (TIDINGS_ADDR)")
	fs.StringVar(&c.Data, "data", env("TIDINGS_DATA", "./data"), "data directory of the embedded backends (TIDINGS_DATA)")
	fs.BoolVar(&c.OpenRegistration, "open-registration", envBool("TIDINGS_OPEN_REGISTRATION", true), "let anyone sign up with POST /users (TIDINGS_OPEN_REGISTRATION)")
	fs.IntVar(&c.SendBurst, "send-burst", envInt("TIDINGS_SEND_BURST", 100), "messages a user may send at once (TIDINGS_SEND_BURST)")
	fs.Float64Var(&c.SendPerSecond, "send-rate", envFloat("TIDINGS_SEND_RATE", 20), "messages per second a user may send sustained; 0 disables the limit (TIDINGS_SEND_RATE)")
	fs.IntVar(&c.SignUpBurst, "signup-burst", envInt("TIDINGS_SIGNUP_BURST", 5), "sign-ups (POST /users) a client address may make at once (TIDINGS_SIGNUP_BURST)")
	fs.Float64Var(&c.SignUpPerMinute, "signup-rate", envFloat("TIDINGS_SIGNUP_RATE", 1), "sign-ups per minute a client address may make sustained; 0 disables the limit (TIDINGS_SIGNUP_RATE)")
	fs.IntVar(&c.SignInBurst, "signin-burst", envInt("TIDINGS_SIGNIN_BURST", 10), "sign-ins and token renewals (POST /sessions) a client address may make at once (TIDINGS_SIGNIN_BURST)")
	fs.Float64Var(&c.SignInPerMinute, "signin-rate", envFloat("TIDINGS_SIGNIN_RATE", 6), "sign-ins per minute a client address may make sustained; 0 disables the limit (TIDINGS_SIGNIN_RATE)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", env("TIDINGS_TRUSTED_PROXIES", ""), "comma-separated addresses or CIDR prefixes of load balancers whose X-Forwarded-For names the client, for the per-address limits; empty trusts no one (TIDINGS_TRUSTED_PROXIES)")
	fs.DurationVar(&c.SessionLifetime, "session-lifetime", envDuration("TIDINGS_SESSION_LIFETIME", 30*24*time.Hour), "how long a token works after it is issued; using it does not extend it (TIDINGS_SESSION_LIFETIME)")
	fs.DurationVar(&c.ConsistencyWait, "consistency-wait", envDuration("TIDINGS_CONSISTENCY_WAIT", 2*time.Second), "longest wait for X-Tidings-Position (TIDINGS_CONSISTENCY_WAIT)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", envDuration("TIDINGS_SHUTDOWN_TIMEOUT", 15*time.Second), "grace period for in-flight requests on SIGTERM (TIDINGS_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&c.WSOrigins, "ws-origins", env("TIDINGS_WS_ORIGINS", ""), "comma-separated host patterns of web pages on other origins allowed to open /ws, e.g. app.example.com,*.example.org; empty allows the same origin only (TIDINGS_WS_ORIGINS)")
	fs.DurationVar(&c.DrainDelay, "drain-delay", envDuration("TIDINGS_DRAIN_DELAY", 0), "on SIGTERM, how long /readyz answers 503 before the server stops accepting, so load balancers stop sending first (TIDINGS_DRAIN_DELAY)")
	fs.StringVar(&c.MetricsToken, "metrics-token", env("TIDINGS_METRICS_TOKEN", ""), "bearer token GET /metrics requires; empty: /metrics answers loopback peers only (TIDINGS_METRICS_TOKEN)")
	fs.StringVar(&c.CPUProfile, "cpu-profile", env("TIDINGS_CPU_PROFILE", ""), "write a CPU profile of the server's run to this file, for go tool pprof (TIDINGS_CPU_PROFILE)")
	fs.StringVar(&c.LogLevel, "log-level", env("TIDINGS_LOG_LEVEL", "info"), "debug, info, warn or error (TIDINGS_LOG_LEVEL)")
	fs.StringVar(&c.KafkaBrokers, "kafka-brokers", env("TIDINGS_KAFKA_BROKERS", ""), "comma-separated Kafka bootstrap brokers; empty keeps the event log embedded under --data (TIDINGS_KAFKA_BROKERS)")
	fs.StringVar(&c.KafkaTopic, "kafka-topic", env("TIDINGS_KAFKA_TOPIC", "tidings.messages.v1"), "topic of the message events (TIDINGS_KAFKA_TOPIC)")
	fs.IntVar(&c.KafkaPartitions, "kafka-partitions", envInt("TIDINGS_KAFKA_PARTITIONS", 16), "partitions of the topic when tidings creates it (TIDINGS_KAFKA_PARTITIONS)")
	fs.IntVar(&c.KafkaReplication, "kafka-replication", envInt("TIDINGS_KAFKA_REPLICATION", 1), "replication factor of the topic when tidings creates it (TIDINGS_KAFKA_REPLICATION)")
	fs.StringVar(&c.KafkaVersion, "kafka-version", env("TIDINGS_KAFKA_VERSION", "3.6.0"), "Kafka protocol version to speak, at least 2.1 (TIDINGS_KAFKA_VERSION)")
	fs.StringVar(&c.PostgresURL, "postgres-url", env("TIDINGS_POSTGRES_URL", ""), "PostgreSQL URL for accounts, send log and shard catalog; empty uses the embedded store (TIDINGS_POSTGRES_URL)")
	fs.StringVar(&c.CassandraHosts, "cassandra-hosts", env("TIDINGS_CASSANDRA_HOSTS", ""), "comma-separated Cassandra host:port list for the views; empty uses the embedded store (TIDINGS_CASSANDRA_HOSTS)")
	fs.StringVar(&c.CassandraKeyspace, "cassandra-keyspace", env("TIDINGS_CASSANDRA_KEYSPACE", "tidings"), "Cassandra keyspace of the views (TIDINGS_CASSANDRA_KEYSPACE)")
	fs.StringVar(&c.CassandraConsistency, "cassandra-consistency", env("TIDINGS_CASSANDRA_CONSISTENCY", "LOCAL_QUORUM"), "Cassandra consistency level (TIDINGS_CASSANDRA_CONSISTENCY)")
	fs.IntVar(&c.CassandraReplication, "cassandra-replication", envInt("TIDINGS_CASSANDRA_REPLICATION", 1), "replication factor when tidings creates the keyspace (TIDINGS_CASSANDRA_REPLICATION)")
	fs.BoolVar(&c.Migrate, "migrate", envBool("TIDINGS_MIGRATE", false), "apply the PostgreSQL and Cassandra schema migrations on start (TIDINGS_MIGRATE)")
}

func (c *config) validate() error {
	errs := append([]error(nil), envErrs...)
	if c.Data == "" {
		errs = append(errs, fmt.Errorf("%s must not be empty", opt("data")))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("%s %q: want [host]:port, e.g. :8080 or 127.0.0.1:8080: %w", opt("addr"), c.Addr, err))
	}
	if c.SendBurst < 1 {
		errs = append(errs, fmt.Errorf("%s %d must be at least 1", opt("send-burst"), c.SendBurst))
	}
	if c.SendPerSecond < 0 {
		errs = append(errs, fmt.Errorf("%s %v must not be negative", opt("send-rate"), c.SendPerSecond))
	}
	for _, l := range []struct {
		flag  string
		burst int
		rate  float64
	}{{"signup", c.SignUpBurst, c.SignUpPerMinute}, {"signin", c.SignInBurst, c.SignInPerMinute}} {
		if l.burst < 1 {
			errs = append(errs, fmt.Errorf("%s %d must be at least 1", opt(l.flag+"-burst"), l.burst))
		}
		if l.rate < 0 {
			errs = append(errs, fmt.Errorf("%s %v must not be negative", opt(l.flag+"-rate"), l.rate))
		}
	}
	if _, err := c.trustedProxies(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", opt("trusted-proxies"), err))
	}
	if c.SessionLifetime < time.Minute || c.SessionLifetime > 366*24*time.Hour {
		errs = append(errs, fmt.Errorf("%s %v must be from 1m to 8784h (a year)", opt("session-lifetime"), c.SessionLifetime))
	}
	if c.ConsistencyWait <= 0 || c.ConsistencyWait > time.Minute {
		errs = append(errs, fmt.Errorf("%s %v must be in (0, 1m]", opt("consistency-wait"), c.ConsistencyWait))
	}
	if c.KafkaPartitions < 1 || c.KafkaPartitions > 10000 {
		errs = append(errs, fmt.Errorf("%s %d must be 1 to 10000", opt("kafka-partitions"), c.KafkaPartitions))
	}
	if c.KafkaReplication < 1 || c.KafkaReplication > 32 {
		errs = append(errs, fmt.Errorf("%s %d must be 1 to 32", opt("kafka-replication"), c.KafkaReplication))
	}
	for _, o := range list(c.WSOrigins) {
		if o == "*" {
			errs = append(errs, fmt.Errorf(`%s "*" would let any web page connect as its visitors`, opt("ws-origins")))
		}
	}
	if _, err := c.level(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c *config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("%s %q: want debug, info, warn or error", opt("log-level"), c.LogLevel)
	}
	return l, nil
}

func (c *config) logger() *slog.Logger {
	l, _ := c.level()
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func (c *config) brokers() []string { return list(c.KafkaBrokers) }

func (c *config) trustedProxies() ([]netip.Prefix, error) {
	return httpapi.ParseTrustedProxies(list(c.TrustedProxies))
}

func list(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// parse reads args into a config for the named subcommand.
func parse(name string, args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("tidings "+name, flag.ContinueOnError)
	c.flags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return c, nil
}

// opt names a setting by its flag and its environment variable, so an
// error says where to fix it whichever way the value came in.
func opt(flag string) string {
	return fmt.Sprintf("--%s (%s)", flag, envName(flag))
}

// envName is the TIDINGS_* variable of a flag.
func envName(flag string) string {
	return "TIDINGS_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// knownEnv holds every TIDINGS_* variable that is a setting; env and
// envParse add theirs as the flags are declared.
var knownEnv = map[string]bool{}

// toolEnv are TIDINGS_* variables of this repository's scripts and tests
// (scripts/services.sh, the end-to-end tests, CI), which set them in the
// shells they share with servers: not settings, but not typos either.
var toolEnv = map[string]bool{
	"TIDINGS_ARTIFACTS": true, "TIDINGS_CASSANDRA_JAVA": true, "TIDINGS_CASSANDRA_TIMEOUT": true,
	"TIDINGS_E2E_ARGS": true, "TIDINGS_E2E_REAL": true, "TIDINGS_EVENTLOG_HELPER_DIR": true,
	"TIDINGS_KAFKA_PID": true, "TIDINGS_KAFKA_TIMEOUT": true, "TIDINGS_NGINX": true,
	"TIDINGS_NGINX_DIR": true, "TIDINGS_POSTGRES_TIMEOUT": true, "TIDINGS_REQUIRE_BROWSER": true,
	"TIDINGS_REQUIRE_SERVICES": true, "TIDINGS_SERVICES_DIR": true, "TIDINGS_WEB_SCREENSHOTS": true,
	"TIDINGS_WS_IDLE_CLIENT": true,
}

// unknownEnv returns, sorted, the TIDINGS_* variables set in the
// environment that are no setting (a typo like TIDINGS_SEND_RAET would
// otherwise leave the default in force without a word). Call it after
// config.flags.
func unknownEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "TIDINGS_") && !knownEnv[k] && !toolEnv[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// warnUnknownEnv logs a warning for each variable unknownEnv returns.
func warnUnknownEnv(log *slog.Logger) {
	for _, k := range unknownEnv() {
		log.Warn("environment variable "+k+" is not a tidings setting and is ignored; \"tidings serve -h\" lists the settings", "var", k)
	}
}

func env(key, def string) string {
	knownEnv[key] = true
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// envErrs collects TIDINGS_* variables that are set but do not parse;
// validate reports them, so a typo never silently falls back to a default.
var envErrs []error

// envParse returns parse(value of key), or def when key is unset.
func envParse[T any](key string, def T, parse func(string) (T, error)) T {
	knownEnv[key] = true
	v, ok := os.LookupEnv(key)
	if !ok || v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		envErrs = append(envErrs, fmt.Errorf("%s=%q: %w", key, v, err))
		return def
	}
	return x
}

func envBool(key string, def bool) bool { return envParse(key, def, strconv.ParseBool) }
func envInt(key string, def int) int    { return envParse(key, def, strconv.Atoi) }
func envFloat(key string, def float64) float64 {
	return envParse(key, def, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}
func envDuration(key string, def time.Duration) time.Duration {
	return envParse(key, def, time.ParseDuration)
}
