package main

import (
	"slices"
	"strings"
	"testing"
)

// TestFaultFlag checks the -fault list: kill alone works on any backend,
// broker and cassandra need real backends, unknown faults are refused.
func TestFaultFlag(t *testing.T) {
	for _, tt := range []struct {
		fault, backends string
		want            []string
		wantErr         string
	}{
		{fault: "kill", backends: "embedded", want: []string{"kill"}},
		{fault: "kill, broker,cassandra", backends: "real", want: []string{"kill", "broker", "cassandra"}},
		{fault: "broker", backends: "embedded", wantErr: "needs -backends real"},
		{fault: "kill,postgres", backends: "real", wantErr: `-fault "postgres"`},
	} {
		c := testConfig("")
		c.Fault, c.Backends = tt.fault, tt.backends
		err := c.validate()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("-fault %q -backends %s: error %v, want %q", tt.fault, tt.backends, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("-fault %q -backends %s: %v", tt.fault, tt.backends, err)
		}
		if got := c.faults(); !slices.Equal(got, tt.want) {
			t.Errorf("-fault %q: faults() = %q, want %q", tt.fault, got, tt.want)
		}
	}
}
