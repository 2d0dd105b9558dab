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
