package kafka_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/kafka"
)

func TestConfigValidate(t *testing.T) {
	valid := func(edit func(*kafka.Config)) kafka.Config {
		c := kafka.Config{Brokers: []string{"127.0.0.1:1"}}
		c.SetDefaults()
		edit(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  kafka.Config
		want string // "" when valid
	}{
		{"Defaults", valid(func(*kafka.Config) {}), ""},
		{"NoLinger", valid(func(c *kafka.Config) { c.Linger = kafka.NoLinger }), ""},
		{"Lz4", valid(func(c *kafka.Config) { c.Compression = "lz4" }), ""},
		{"NoBrokers", valid(func(c *kafka.Config) { c.Brokers = nil }), "no brokers"},
		{"OldVersion", valid(func(c *kafka.Config) { c.Version = "2.0.0" }), "older than 2.1"},
		{"NegativeLinger", valid(func(c *kafka.Config) { c.Linger = -time.Millisecond }), "linger"},
		{"UnknownCompression", valid(func(c *kafka.Config) { c.Compression = "brotli" }), "compression"},
		{"NoSlots", valid(func(c *kafka.Config) { c.MaxInFlight = -1 }), "max in flight"},
		{"NoBatch", valid(func(c *kafka.Config) { c.MaxBatch = -1 }), "max batch"},
		{"EveryProblem", kafka.Config{MaxBatch: -1}, "no brokers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestSetDefaultsKeepsWhatIsSet(t *testing.T) {
	c := kafka.Config{Linger: kafka.NoLinger, MaxBatch: 7, MaxInFlight: 3, Compression: "lz4"}
	c.SetDefaults()
	if c.Linger != kafka.NoLinger || c.MaxBatch != 7 || c.MaxInFlight != 3 || c.Compression != "lz4" {
		t.Fatalf("SetDefaults changed set fields: %+v", c)
	}
	var d kafka.Config
	d.SetDefaults()
	if d.Linger != kafka.DefaultLinger || d.MaxBatch != kafka.DefaultMaxBatch || d.MaxInFlight != kafka.DefaultMaxInFlight || d.Compression != kafka.DefaultCompression {
		t.Fatalf("SetDefaults on a zero Config: %+v", d)
	}
}
