package main

import (
	"bytes"
	"flag"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestConfigRejectsBadValues(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // in the error; "" for valid
	}{
		{"defaults", nil, nil, ""},
		{"env overrides", map[string]string{"TIDINGS_SEND_BURST": "5"}, nil, ""},
		{"unparsable env", map[string]string{"TIDINGS_SEND_BURST": "abc"}, nil, "TIDINGS_SEND_BURST"},
		{"unparsable duration env", map[string]string{"TIDINGS_DRAIN_DELAY": "soon"}, nil, "TIDINGS_DRAIN_DELAY"},
		{"negative rate", nil, []string{"--send-rate", "-1"}, "--send-rate"},
		{"zero partitions", nil, []string{"--kafka-partitions", "0"}, "--kafka-partitions"},
		{"bad log level", nil, []string{"--log-level", "loud"}, "--log-level"},
		{"bad trusted proxy", map[string]string{"TIDINGS_TRUSTED_PROXIES": "10.0.0.0/8, lb.example"}, nil, "--trusted-proxies"},
		{"trusted proxies", nil, []string{"--trusted-proxies", "10.0.0.0/8,127.0.0.1,fd00::/8"}, ""},
		{"zero sign-up burst", nil, []string{"--signup-burst", "0"}, "--signup-burst"},
		{"negative sign-in rate", nil, []string{"--signin-rate", "-1"}, "--signin-rate"},
		{"session lifetime too short", nil, []string{"--session-lifetime", "30s"}, "--session-lifetime"},
		{"session lifetime", map[string]string{"TIDINGS_SESSION_LIFETIME": "24h"}, nil, ""},
		{"stray argument", nil, []string{"extra"}, "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			envErrs = nil
			c, err := parse("serve", tc.args)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				if v, ok := tc.env["TIDINGS_SEND_BURST"]; ok && v == "5" && c.SendBurst != 5 {
					t.Fatalf("SendBurst = %d, want 5 from the environment", c.SendBurst)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parse: %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestConfigNamesTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // in the error
	}{
		{"zero burst", map[string]string{"TIDINGS_SEND_BURST": "0"}, "TIDINGS_SEND_BURST"},
		{"bad log level", map[string]string{"TIDINGS_LOG_LEVEL": "loud"}, "TIDINGS_LOG_LEVEL"},
		{"any origin", map[string]string{"TIDINGS_WS_ORIGINS": "*"}, "TIDINGS_WS_ORIGINS"},
		{"address without port", map[string]string{"TIDINGS_ADDR": "localhost"}, "TIDINGS_ADDR"},
		{"empty data", map[string]string{"TIDINGS_DATA": ""}, "TIDINGS_DATA"},
		{"long consistency wait", map[string]string{"TIDINGS_CONSISTENCY_WAIT": "2h"}, "TIDINGS_CONSISTENCY_WAIT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			envErrs = nil
			if _, err := parse("serve", nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parse: %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestUnknownEnvIsReported(t *testing.T) {
	for _, kv := range os.Environ() { // this test's own view of the environment
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TIDINGS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("TIDINGS_SEND_RAET", "5")   // a typo of TIDINGS_SEND_RATE
	t.Setenv("TIDINGS_SEND_RATE", "5")   // a setting
	t.Setenv("TIDINGS_E2E_REAL", "1")    // the tests' own
	t.Setenv("TIDINGS_ZZZ_UNHEARD", "x") // nothing at all
	envErrs = nil
	if _, err := parse("serve", nil); err != nil {
		t.Fatal(err)
	}
	if got, want := unknownEnv(), []string{"TIDINGS_SEND_RAET", "TIDINGS_ZZZ_UNHEARD"}; !slices.Equal(got, want) {
		t.Fatalf("unknownEnv() = %v, want %v", got, want)
	}
	var logged bytes.Buffer
	warnUnknownEnv(slog.New(slog.NewTextHandler(&logged, nil)))
	if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), "var=TIDINGS_SEND_RAET") {
		t.Fatalf("warnUnknownEnv logged:\n%s\nwant a warning naming TIDINGS_SEND_RAET", logged.String())
	}
}

// TestEveryFlagHasItsVariable checks that each flag reads the TIDINGS_*
// variable its name gives, and says so in its help.
func TestEveryFlagHasItsVariable(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	(&config{}).flags(fs)
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if !knownEnv[name] || !strings.Contains(f.Usage, "("+name+")") {
			t.Errorf("--%s: want it to read %s and name it in its help (%q)", f.Name, name, f.Usage)
		}
	})
}

func TestDescribeListener(t *testing.T) {
	tests := []struct {
		addr       string
		api        string
		interfaces string // prefix
	}{
		{"0.0.0.0:8080", "http://localhost:8080", "all"},
		{"[::]:8080", "http://localhost:8080", "all"},
		{"127.0.0.1:8080", "http://127.0.0.1:8080", "loopback only"},
		{"[::1]:9000", "http://[::1]:9000", "loopback only"},
		{"192.0.2.7:80", "http://192.0.2.7:80", "only 192.0.2.7"},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			a, err := net.ResolveTCPAddr("tcp", tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			got := describeListener(a)
			if got.api != tc.api || got.web != tc.api+"/" || !strings.HasPrefix(got.interfaces, tc.interfaces) {
				t.Fatalf("describeListener(%s) = %+v, want api %s, web %s/, interfaces %q...", tc.addr, got, tc.api, tc.api, tc.interfaces)
			}
		})
	}
}
