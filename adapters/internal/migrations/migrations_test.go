package migrations

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  string // error substring; "" for success
	}{
		{"in order", []string{"0002_b.sql", "0001_a.sql"}, ""},
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, "want 2"},
		{"repeat", []string{"0001_a.sql", "0001_b.sql"}, "want 2"},
		{"bad name", []string{"0001_a.sql", "notes.txt"}, "name must be"},
		{"other extension", []string{"0001_a.cql"}, "name must be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tc.files {
				fsys["m/"+f] = &fstest.MapFile{Data: []byte("-- " + f)}
			}
			got, err := Load(fsys, "m", "sql")
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Load: %v, want an error with %q", err, tc.want)
				}
				return
			}
			if err != nil || len(got) != 2 || got[0].Name != "0001_a.sql" || got[1].Version != 2 || string(got[0].Body) != "-- 0001_a.sql" {
				t.Fatalf("Load: %+v, %v", got, err)
			}
		})
	}
}
