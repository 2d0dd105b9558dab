package main

import (
	"bytes"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeletedAccountIsErasedEverywhere: a user with a password and a peer
// exchange messages; no text is ever on disk in plain form; the user
// deletes the account (the password is checked first); the peer's views
// show the user's messages erased and their own intact; a replay of the
// log rebuilds the same; the deleted user's token no longer works. With
// the real backends the same holds through Kafka, Cassandra and
// PostgreSQL (the disk check is the embedded data directory's).
func TestDeletedAccountIsErasedEverywhere(t *testing.T) {
	t.Parallel()
	inst := newInstance(t)
	w := &world{inst: inst, pos: newPositions(), model: newModel(), sfx: randomSuffix(6)}
	w.start(t, serverOptions{})

	const password = "a long enough password 42"
	res := w.api.post(t, user{}, "/users", map[string]string{"name": w.name("ana"), "password": password})
	expectStatus(t, res, http.StatusCreated)
	ana := decode[user](t, res)
	bo := w.api.register(t, w.name("bo"))

	anaWords := []string{"ana-secret-" + w.sfx + "-one", "ana-secret-" + w.sfx + "-two"}
	boWords := "bo-reply-" + w.sfx
	w.send(t, ana, bo, anaWords[0], "")
	w.send(t, bo, ana, boWords, "")
	w.send(t, ana, bo, anaWords[1], "a-2")
	history := func(u, peer user) map[string]message {
		t.Helper()
		ms, _ := collect[message](t, w.api, u, "/conversations/"+peer.ID+"/messages")
		out := map[string]message{}
		for _, m := range ms {
			out[m.Text] = m
		}
		if len(ms) != 3 {
			t.Fatalf("%s's history with %s holds %d messages, want 3: %v", u.Name, peer.Name, len(ms), ms)
		}
		return out
	}
	if h := history(bo, ana); h[anaWords[0]].ID == "" || h[anaWords[1]].ID == "" || h[boWords].ID == "" {
		t.Fatalf("before the deletion bo's history reads %v", h)
	}
	onDisk := func(when string) {
		t.Helper()
		if !embeddedBackends() {
			return
		}
		for _, words := range append(anaWords, boWords) {
			_ = filepath.WalkDir(inst.dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				b, err := os.ReadFile(path)
				if err == nil && bytes.Contains(b, []byte(words)) {
					t.Errorf("%s: %s holds the text %q in plain form", when, path, words)
				}
				return nil
			})
		}
	}
	onDisk("before the deletion")

	del := func(body any) response {
		req := request{Method: http.MethodDelete, Path: "/me", Token: ana.Token}
		if body != nil {
			req.Body = jsonBody(t, body)
		}
		return w.api.do(t, req)
	}
	expectError(t, del(nil), http.StatusUnauthorized, "invalid_credentials")
	expectError(t, del(map[string]string{"password": "not the password"}), http.StatusUnauthorized, "invalid_credentials")
	expectStatus(t, del(map[string]string{"password": password}), http.StatusNoContent)
	expectError(t, w.api.get(t, ana, "/me"), http.StatusUnauthorized, "unauthorized")
	expectError(t, w.api.get(t, bo, "/users/"+ana.ID), http.StatusNotFound, "not_found")

	erasedView := func(when string) {
		t.Helper()
		ms, _ := collect[message](t, w.api, bo, "/conversations/"+ana.ID+"/messages")
		var erased, kept int
		for _, m := range ms {
			switch {
			case m.From == ana.ID && m.Text == "" && m.Erased:
				erased++
			case m.From == bo.ID && m.Text == boWords && !m.Erased:
				kept++
			default:
				t.Errorf("%s: bo's history holds %v", when, m)
			}
		}
		if erased != 2 || kept != 1 {
			t.Fatalf("%s: bo's history: %d of ana's messages erased (want 2), %d of his own kept (want 1)", when, erased, kept)
		}
		inbox, _ := collect[message](t, w.api, bo, "/messages")
		for _, m := range inbox {
			if m.From == ana.ID && (m.Text != "" || !m.Erased) {
				t.Errorf("%s: bo's inbox shows %v", when, m)
			}
		}
		convs, _ := collect[conversation](t, w.api, bo, "/conversations")
		for _, c := range convs {
			if strings.Contains(c.LastMessage.Text, "ana-secret") {
				t.Errorf("%s: bo's conversations show %v", when, c)
			}
		}
	}
	erasedView("after the deletion")

	w.srv.stop()
	if r := inst.run(t, "replay"); r.Err != nil {
		t.Fatalf("tidings replay: %v\n%s", r.Err, r.Stderr)
	}
	w.start(t, serverOptions{})
	erasedView("after a replay")
	onDisk("after the deletion and a replay")
}
