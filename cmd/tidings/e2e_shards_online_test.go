package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ownDatabase creates a PostgreSQL database for one test, so its shard
// catalog is its own, and returns its URL.
func ownDatabase(t *testing.T, name string) string {
	t.Helper()
	base := os.Getenv("TIDINGS_POSTGRES_URL")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestShardMoveOnline moves a user's shard to another Cassandra keyspace
// while messages to and from that user keep flowing through a running
// server, then checks that nothing acknowledged is missing or doubled,
// that the moved views read right, and that a fresh replay yields the same
// views.
func TestShardMoveOnline(t *testing.T) {
	if !realBackends() {
		t.Skip("online moves need the real services: TIDINGS_E2E_REAL=1 with scripts/services.sh env")
	}
	t.Parallel()
	inst := newInstance(t)
	sfx := randomSuffix(8)
	inst.common = append(inst.common, "--postgres-url", ownDatabase(t, "e2e_move_"+sfx))
	w := &world{inst: inst, pos: newPositions(), model: newModel(), sfx: sfx}
	w.start(t, serverOptions{Flags: []string{"--send-rate", "0"}})
	var users []user
	for _, n := range []string{"mia", "noa", "oli", "pia"} {
		users = append(users, w.api.register(t, w.name(n)))
	}
	mover := users[0]
	shard, target := shardOf(mover.ID), "e2e_mv_"+sfx
	if r := inst.run(t, "shards", "move", fmt.Sprint(shard), target); r.Err == nil || !strings.Contains(r.Stderr, "no such placement") {
		t.Fatalf("shards move %d %s to a placement nobody created: %v %q, want a refusal", shard, target, r.Err, r.Stderr)
	}
	if r := inst.run(t, "shards", "placements", "add", target); r.Err != nil {
		t.Fatalf("shards placements add %s: %v\n%s", target, r.Err, r.Stderr)
	}
	// Some history before the move.
	for i := range 12 {
		w.send(t, users[i%4], users[(i+1)%4], fmt.Sprintf("before %d", i), "")
	}

	// The move runs as its own process while this goroutine keeps sending
	// to and from the moving user.
	type result struct {
		out, errOut string
		err         error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		args := append(append([]string{"shards", "move", fmt.Sprint(shard), target}, inst.flags()...), extraArgs()...)
		cmd := exec.CommandContext(ctx, inst.bin, args...)
		cmd.Env = childEnv()
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		done <- result{out.String(), errOut.String(), err}
	}()
	var r result
	sent := 0
	for moving := true; moving; {
		select {
		case r = <-done:
			moving = false
		default:
			from, to := mover, users[1+sent%3]
			if sent%2 == 1 {
				from, to = to, from
			}
			w.send(t, from, to, fmt.Sprintf("during %d", sent), fmt.Sprintf("d-%d", sent))
			sent++
			time.Sleep(20 * time.Millisecond)
		}
	}
	if r.err != nil {
		t.Fatalf("shards move: %v\nstdout:\n%s\nstderr:\n%s", r.err, r.out, r.errOut)
	}
	t.Logf("%d messages to and from the moving user during the move; %s", sent, strings.TrimSpace(r.out))
	if sent < 5 {
		t.Errorf("only %d messages flowed during the move", sent)
	}
	for i := range 6 {
		w.send(t, users[i%4], users[(i+1)%4], fmt.Sprintf("after %d", i), "")
	}
	list := inst.run(t, "shards", "list")
	if !regexp.MustCompile(`(?m)^` + target + `\s+1$`).MatchString(list.Stdout) {
		t.Errorf("shards list lacks %s with one shard:\n%s", target, list.Stdout)
	}

	checkViews(t, w.api, w.model, users...) // marks fetched messages delivered
	before := checkViews(t, w.api, w.model, users...)
	// Nothing written twice: every message once in each party's history.
	for _, u := range users {
		for peer, h := range before[u.Name].History {
			seen := map[string]bool{}
			for _, m := range h {
				if seen[m.ID] {
					t.Errorf("%s's history with %s holds %s twice", u.Name, peer, m.ID)
				}
				seen[m.ID] = true
			}
		}
	}
	w.srv.stop()
	if rr := inst.run(t, "replay"); rr.Err != nil {
		t.Fatalf("replay: %v\n%s", rr.Err, rr.Stderr)
	}
	w.start(t, serverOptions{Flags: []string{"--send-rate", "0"}})
	replayed := checkViews(t, w.api, w.model, users...)
	for _, u := range users {
		compareSnapshots(t, u.Name+" after a fresh replay", replayed[u.Name], before[u.Name])
	}
	res := w.api.get(t, mover, "/me")
	expectStatus(t, res, http.StatusOK)
}
