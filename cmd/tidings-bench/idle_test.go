package main

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestIdle connects a few idle devices to a real server: every one must
// be ready and still connected when memory is read, and the server must
// show goroutines and memory for them.
func TestIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a tidings server")
	}
	c := testConfig(buildServer(t))
	c.Idle = 40
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	res, err := runIdle(context.Background(), c, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.StillConnected != c.Idle || res.Reconnects != 0 {
		t.Fatalf("%d of %d still connected, %d reconnects", res.StillConnected, c.Idle, res.Reconnects)
	}
	if res.Server.MetricsError != "" {
		t.Fatalf("goroutines unknown: %s", res.Server.MetricsError)
	}
	// How many goroutines a connection costs the server is its design;
	// the counts must be there.
	if res.Server.GoroutinesBefore <= 0 || res.Server.GoroutinesAfter <= 0 {
		t.Errorf("server goroutines %d → %d: not read", res.Server.GoroutinesBefore, res.Server.GoroutinesAfter)
	}
	if res.Server.RSSBeforeKB <= 0 || res.Server.RSSAfterKB <= 0 {
		t.Errorf("server RSS %d → %d KB", res.Server.RSSBeforeKB, res.Server.RSSAfterKB)
	}
	// One reader goroutine per device on the client side, no more.
	if g := res.Client.GoroutinesPerConn; g < 0.9 || g > 1.1 {
		t.Errorf("client goroutines per connection %.2f, want 1", g)
	}
	if res.Env.Date == "" || res.Env.LoadBefore == "" || res.Env.LoadAfter == "" {
		t.Errorf("run environment not recorded: %+v", res.Env)
	}
}

func TestParseGauge(t *testing.T) {
	const exposition = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines_total{x="1"} 9
go_goroutines 1234
process_resident_memory_bytes 1.2345e+07
`
	tests := []struct {
		name string
		want int64
		bad  bool
	}{
		{name: "go_goroutines", want: 1234},
		{name: "process_resident_memory_bytes", want: 12345000},
		{name: "go_threads", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseGauge(strings.NewReader(exposition), tt.name)
			if (err != nil) != tt.bad || got != tt.want {
				t.Errorf("parseGauge(%s) = %d, %v; want %d (error %v)", tt.name, got, err, tt.want, tt.bad)
			}
		})
	}
}

func TestProcInfo(t *testing.T) {
	if kb, err := rssKB(os.Getpid()); err != nil || kb <= 0 {
		t.Errorf("rssKB(self) = %d, %v", kb, err)
	}
	if soft, hard, err := openFilesLimit(0); err != nil || soft == 0 || hard < soft {
		t.Errorf("openFilesLimit(self) = %d/%d, %v", soft, hard, err)
	}
	if la := loadAvg(); len(strings.Fields(la)) != 3 {
		t.Errorf("loadAvg() = %q, want three figures", la)
	}
	before := selfCPU()
	for deadline := time.Now().Add(20 * time.Millisecond); time.Now().Before(deadline); {
	}
	if after := selfCPU(); after <= before {
		t.Errorf("selfCPU did not grow over 20 ms of spinning: %v → %v", before, after)
	}
}

func TestForEach(t *testing.T) {
	t.Run("visits every index once", func(t *testing.T) {
		seen := make([]atomic.Int32, 1000)
		if err := forEach(context.Background(), len(seen), 7, func(_ context.Context, i int) error {
			seen[i].Add(1)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for i := range seen {
			if n := seen[i].Load(); n != 1 {
				t.Fatalf("index %d visited %d times", i, n)
			}
		}
	})
	t.Run("stops at the first error", func(t *testing.T) {
		boom := errors.New("boom")
		var calls atomic.Int32
		err := forEach(context.Background(), 1000, 4, func(ctx context.Context, i int) error {
			calls.Add(1)
			switch {
			case i == 10:
				return boom
			case i > 10: // held until the error ends ctx
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("error %v, want boom", err)
		}
		if n := calls.Load(); n > 14 { // 0..10 and at most one held call per other worker
			t.Errorf("%d calls, want the error to stop it after at most 14", n)
		}
	})
}

func TestNewFlags(t *testing.T) {
	tests := []struct {
		name    string
		set     func(c *config)
		wantErr string
	}{
		{name: "with-ceilings", set: func(c *config) { c.WithCeilings, c.Concurrency = true, 8 }},
		{name: "with-ceilings needs connections", set: func(c *config) { c.WithCeilings = true }, wantErr: "-concurrency 0"},
		{name: "http ceiling", set: func(c *config) { c.Ceiling, c.Concurrency = "http", 8 }},
		{name: "unknown ceiling", set: func(c *config) { c.Ceiling, c.Concurrency = "pebble", 8 }, wantErr: `-ceiling "pebble"`},
		{name: "ceiling alone", set: func(c *config) { c.Ceiling, c.Concurrency, c.Idle = "ws", 8, 10 }, wantErr: "-ceiling runs alone"},
		{name: "idle with spawn", set: func(c *config) { c.Idle = 10 }},
		{name: "idle needs a pid", set: func(c *config) { c.Idle, c.Spawn, c.Addr = 10, false, "http://127.0.0.1:8080" }, wantErr: "-server-pid"},
		{name: "idle with a pid", set: func(c *config) { c.Idle, c.Spawn, c.Addr, c.ServerPID = 10, false, "http://127.0.0.1:8080", 1 }},
		{name: "idle alone", set: func(c *config) { c.Idle, c.Fault = 10, "kill" }, wantErr: "-idle runs alone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig("")
			tt.set(c)
			err := c.validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("validate: %v, want %q", err, tt.wantErr)
			}
		})
	}
}
