package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// config is one benchmark run.
type config struct {
	Addr        string
	Users       int
	Devices     int
	Rate        float64 // messages per second over all users; 0: as fast as accepted
	Duration    time.Duration
	Drain       time.Duration
	Via         string // rest or ws
	TextSize    int
	Peers       int
	ReadFrac    float64
	LagProbe    float64 // projection-lag probes per second; 0: off
	Out         string
	Plot        string
	Spawn       bool
	Backends    string // embedded or real
	Fault       string // "" or a comma-separated list of kill, broker, cassandra
	ServerBin   string
	ServerPID   int
	ServerArgs  string
	Quiet       bool
	Ceiling     string // "", produce, cassandra, http, ws
	Concurrency int
	Brokers     string
	// WithCeilings runs the bare-HTTP ceiling before the load phase of a
	// full run and reports the run's rate as a fraction of it.
	WithCeilings bool
	// Idle, when > 0, measures the server's memory and goroutines per idle
	// WebSocket connection with that many connections, instead of a load run.
	Idle int
	// CPUProfile is where the tool writes its own CPU profile.
	CPUProfile string
	// CassandraHosts is where -ceiling cassandra writes (empty: scripts/services.sh env).
	CassandraHosts string

	// Test hooks: drop or duplicate the Nth message frame received, drop
	// the Nth answer to a read, the Nth read receipt (1-based); how long
	// -with-ceilings measures (0: 5 s).
	dropFrame   int
	dupFrame    int
	dropReadAck int
	dropReceipt int
	ceilingsFor time.Duration
}

func (c *config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", "http://127.0.0.1:8080", "server base URL (loopback only); ignored with -spawn")
	fs.IntVar(&c.Users, "users", 200, "simulated users")
	fs.IntVar(&c.Devices, "devices", 1, "WebSocket-connected devices per user")
	fs.Float64Var(&c.Rate, "rate", 1000, "target messages per second over all users (open loop); 0 sends as fast as accepted")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "how long to send")
	fs.DurationVar(&c.Drain, "drain", 15*time.Second, "longest wait after sending for deliveries and receipts")
	fs.StringVar(&c.Via, "via", "rest", "send over rest (POST /messages) or ws (send frames)")
	fs.IntVar(&c.TextSize, "size", 100, "message text length in bytes")
	fs.IntVar(&c.Peers, "peers", 4, "distinct recipients each user writes to")
	fs.Float64Var(&c.ReadFrac, "read", 1, "fraction of received messages the recipient marks read (read frame)")
	fs.Float64Var(&c.LagProbe, "lag-probe", 10, "POST-then-GET projection-lag probes per second (0: off)")
	fs.StringVar(&c.Out, "out", "", "write JSON results to this file")
	fs.StringVar(&c.Plot, "plot", "", "write PNG plots to PREFIX-latency.png and PREFIX-throughput.png")
	fs.BoolVar(&c.Spawn, "spawn", false, "build and start `tidings serve` on a temp data dir and a loopback port")
	fs.StringVar(&c.Backends, "backends", "embedded", "with -spawn: embedded, or real (Kafka, Cassandra, PostgreSQL from scripts/services.sh env)")
	fs.StringVar(&c.Fault, "fault", "", "with -spawn: comma-separated faults, spread evenly over -duration: kill = SIGKILL the server and restart it on the same data; "+
		"broker, cassandra (with -backends real) = restart that service with scripts/services.sh down NAME && up NAME")
	fs.StringVar(&c.ServerBin, "server-bin", "", "with -spawn: the tidings binary (default: go build ./cmd/tidings)")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "without -spawn: pid of the server, for its CPU per message and -idle's RSS")
	fs.StringVar(&c.ServerArgs, "server-args", "", "with -spawn: extra space-separated flags for tidings serve")
	fs.BoolVar(&c.Quiet, "quiet", false, "no live progress line")
	fs.StringVar(&c.Ceiling, "ceiling", "", "measure one raw ceiling for -duration instead of a load run (-out writes it as JSON): "+
		"produce = event-log appends from -concurrency goroutines (the embedded log on a temp dir, 16 partitions; or Kafka with -brokers); "+
		"cassandra = Cassandra view writes of one message (both parties + position) from -concurrency goroutines; "+
		"http = a bare net/http POST handler in this process (decode a ~150-byte JSON body, answer a small JSON object) hammered by the run's REST client over -concurrency keep-alive connections; "+
		"ws = a bare WebSocket server in this process pushing message-shaped frames to -concurrency clients that read them with the run's frame reader")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "with -ceiling and -with-ceilings: concurrent callers, connections or WebSocket clients")
	fs.BoolVar(&c.WithCeilings, "with-ceilings", false, "before the load phase, measure -ceiling http for 5 s (with -concurrency connections) and report the run's accepted msg/s as a fraction of it")
	fs.IntVar(&c.Idle, "idle", 0, "instead of a load run: connect N idle WebSocket devices (N users × 1 device), wait for every ready frame, settle 5 s, "+
		"and report the server's RSS (KB) and goroutines (GET /metrics go_goroutines) per connection; needs -spawn or -server-pid")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write the tool's own CPU profile (go tool pprof) to this file")
	fs.StringVar(&c.Brokers, "brokers", "", "with -ceiling produce: Kafka brokers, loopback only (empty: the embedded event log on a temp dir)")
	fs.StringVar(&c.CassandraHosts, "cassandra-hosts", "", "with -ceiling cassandra: Cassandra host:port, loopback only (empty: from scripts/services.sh env)")
}

func (c *config) validate() error {
	var errs []error
	if c.Users < 2 {
		errs = append(errs, fmt.Errorf("-users %d: need at least 2", c.Users))
	}
	if c.Devices < 1 || c.Devices > 8 {
		errs = append(errs, fmt.Errorf("-devices %d: must be 1 to 8 (the server allows 8 per user)", c.Devices))
	}
	if c.Rate < 0 {
		errs = append(errs, fmt.Errorf("-rate %v must not be negative", c.Rate))
	}
	if c.Duration <= 0 || c.Duration > time.Hour {
		errs = append(errs, fmt.Errorf("-duration %v must be in (0, 1h]", c.Duration))
	}
	if c.Via != "rest" && c.Via != "ws" {
		errs = append(errs, fmt.Errorf("-via %q: want rest or ws", c.Via))
	}
	if c.TextSize < 24 || c.TextSize > 4096 {
		errs = append(errs, fmt.Errorf("-size %d must be 24 to 4096", c.TextSize))
	}
	if c.Peers < 1 {
		errs = append(errs, fmt.Errorf("-peers %d must be at least 1", c.Peers))
	}
	if c.ReadFrac < 0 || c.ReadFrac > 1 {
		errs = append(errs, fmt.Errorf("-read %v must be in [0, 1]", c.ReadFrac))
	}
	if c.Backends != "embedded" && c.Backends != "real" {
		errs = append(errs, fmt.Errorf("-backends %q: want embedded or real", c.Backends))
	}
	for _, f := range c.faults() {
		switch f {
		case "kill":
		case "broker", "cassandra":
			if c.Backends != "real" {
				errs = append(errs, fmt.Errorf("-fault %s needs -backends real (the embedded broker and store live in the server: use kill)", f))
			}
		default:
			errs = append(errs, fmt.Errorf("-fault %q: want a comma-separated list of kill, broker, cassandra", f))
		}
	}
	if c.Fault != "" && !c.Spawn {
		errs = append(errs, errors.New("-fault needs -spawn (the tool must own the server it kills)"))
	}
	if !c.Spawn {
		if err := loopbackOnly(c.Addr); err != nil {
			errs = append(errs, err)
		}
	}
	switch c.Ceiling {
	case "", "produce", "cassandra", "http", "ws":
	default:
		errs = append(errs, fmt.Errorf("-ceiling %q: want produce, cassandra, http or ws", c.Ceiling))
	}
	if (c.Ceiling != "" || c.WithCeilings) && c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("-concurrency %d must be at least 1", c.Concurrency))
	}
	if c.Ceiling != "" && (c.WithCeilings || c.Idle > 0) {
		errs = append(errs, errors.New("-ceiling runs alone: drop -with-ceilings and -idle"))
	}
	if c.Idle < 0 {
		errs = append(errs, fmt.Errorf("-idle %d must not be negative", c.Idle))
	}
	if c.Idle > 0 {
		if !c.Spawn && c.ServerPID <= 0 {
			errs = append(errs, errors.New("-idle needs -spawn or -server-pid (it reads the server's RSS from /proc/PID/status)"))
		}
		if c.Fault != "" || c.WithCeilings {
			errs = append(errs, errors.New("-idle runs alone: drop -fault and -with-ceilings"))
		}
	}
	for _, b := range strings.Split(c.Brokers, ",") {
		if h, _, err := net.SplitHostPort(strings.TrimSpace(b)); b != "" && (err != nil || (h != "127.0.0.1" && h != "localhost" && h != "::1")) {
			errs = append(errs, fmt.Errorf("-brokers %q: only loopback brokers are allowed", b))
		}
	}
	return errors.Join(errs...)
}

// faults returns the -fault list in order ("kill,broker" → kill, broker).
func (c *config) faults() []string {
	var out []string
	for _, f := range strings.Split(c.Fault, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// loopbackOnly refuses targets other than this machine: the tool is a load
// generator and must not be pointed at someone else's server by mistake.
func loopbackOnly(addr string) error {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("-addr %q: want http://127.0.0.1:PORT", addr)
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return nil
	}
	return fmt.Errorf("-addr %q: only loopback targets (127.0.0.1, localhost, ::1) are allowed", addr)
}
