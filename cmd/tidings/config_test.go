package main

import (
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
