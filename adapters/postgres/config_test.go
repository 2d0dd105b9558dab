package postgres_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/postgres"
)

const goodURL = "postgres://tidings:s3cret@127.0.0.1:15432/tidings?sslmode=disable"

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      postgres.Config
		defaults bool
		wantErrs []string // substrings of the error; none: valid
	}{
		{name: "URLWithDefaults", cfg: postgres.Config{URL: goodURL}, defaults: true},
		{name: "KeyValueForm", cfg: postgres.Config{URL: "host=127.0.0.1 port=15432 user=tidings dbname=tidings", MaxConns: 4, ConnectTimeout: time.Second}},
		{name: "Empty", cfg: postgres.Config{}, defaults: true, wantErrs: []string{"url is empty"}},
		{name: "Unparsable", cfg: postgres.Config{URL: "postgres://tidings:s3cret@127.0.0.1:notaport/tidings"}, defaults: true,
			wantErrs: []string{"does not parse"}},
		{name: "NoDefaults", cfg: postgres.Config{URL: goodURL}, wantErrs: []string{"max conns is 0", "connect timeout is 0s"}},
		{name: "Negative", cfg: postgres.Config{URL: goodURL, MaxConns: -1, ConnectTimeout: -time.Second}, defaults: true,
			wantErrs: []string{"max conns is -1", "connect timeout is -1s"}},
		{name: "AllAtOnce", cfg: postgres.Config{MaxConns: -1}, defaults: true, wantErrs: []string{"url is empty", "max conns is -1"}},
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
	var cfg postgres.Config
	cfg.SetDefaults()
	if cfg.MaxConns != 16 || cfg.ConnectTimeout != postgres.DefaultConnectTimeout {
		t.Fatalf("SetDefaults: %+v", cfg)
	}
	cfg = postgres.Config{MaxConns: 3, ConnectTimeout: time.Minute}
	cfg.SetDefaults()
	if cfg.MaxConns != 3 || cfg.ConnectTimeout != time.Minute {
		t.Fatalf("SetDefaults overwrote set fields: %+v", cfg)
	}
}

func TestConfigNeverPrintsPassword(t *testing.T) {
	t.Parallel()
	cfg := postgres.Config{URL: goodURL}
	cfg.SetDefaults()
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		s := fmt.Sprintf(format, cfg)
		if strings.Contains(s, "s3cret") {
			t.Errorf("%s of a Config shows the password: %s", format, s)
		}
		if !strings.Contains(s, "tidings@127.0.0.1:15432/tidings") {
			t.Errorf("%s of a Config does not say where it connects: %s", format, s)
		}
	}
}
