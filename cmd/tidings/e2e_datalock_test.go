package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOfflineCommandsLeaveALiveDataDirectoryAlone runs every offline
// command against the data directory of a running server: each must stop
// with a clear error before it opens anything, and the server must go on
// as if nothing happened (issue 11.3: they used to half-open the stores
// and delete files of the running server's broker).
func TestOfflineCommandsLeaveALiveDataDirectoryAlone(t *testing.T) {
	if !embeddedBackends() {
		t.Skip("the embedded data directory")
	}
	in := newInstance(t)
	s := in.start(t, serverOptions{})
	a := newAPI(t, s, newPositions())
	alice, bob := a.register(t, "alice-"+randomSuffix(6)), a.register(t, "bob-"+randomSuffix(6))
	before := dirListing(t, in.dir)
	for _, cmd := range [][]string{{"users", "add", "carol"}, {"replay"}, {"shards", "list"}} {
		r := in.run(t, cmd...)
		if r.Err == nil || !strings.Contains(r.Stderr, "in use by another tidings process") || !strings.Contains(r.Stderr, "stop it first") {
			t.Errorf("tidings %s beside a running server: err %v, stderr %q; want a clear refusal", strings.Join(cmd, " "), r.Err, r.Stderr)
		}
	}
	if after := dirListing(t, in.dir); after != before {
		t.Errorf("the data directory changed under the running server:\nbefore %s\nafter  %s", before, after)
	}
	expectStatus(t, a.post(t, alice, "/messages", map[string]any{"to": bob.ID, "text": "still here"}), http.StatusOK)
	s.stop()
	if r := in.run(t, "users", "add", "carol"); r.Err != nil {
		t.Fatalf("users add with the server stopped: %v\n%s", r.Err, r.Stderr)
	}
}

// dirListing names the files directly under dir and its subdirectories
// (not their sizes, which a running server changes).
func dirListing(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dir, p); strings.Count(rel, string(filepath.Separator)) <= 1 && !strings.HasSuffix(rel, ".log") &&
			!strings.HasSuffix(rel, ".sst") && !strings.Contains(rel, "MANIFEST") && !strings.Contains(rel, "OPTIONS") && !strings.Contains(rel, "marker.") {
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, " ")
}
