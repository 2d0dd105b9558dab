package main

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// shardOf is domain.ShardOf, restated: the tests check the documented
// function, not the code's copy of it.
func shardOf(userID string) int {
	h := fnv.New64a()
	h.Write([]byte(userID))
	return int(h.Sum64() % 1024)
}

// TestShardMoveOffline moves two users' shards to new placements while the
// server is stopped (the embedded store belongs to one process), and checks
// that every view is unchanged, that new traffic lands on the new
// placements, and that a replay rebuilds the same views.
func TestShardMoveOffline(t *testing.T) {
	if !embeddedBackends() {
		t.Skip("the online move runs in TestShardMoveOnline with real backends")
	}
	t.Parallel()
	inst := newInstance(t)
	w := &world{inst: inst, pos: newPositions(), model: newModel(), sfx: randomSuffix(6)}
	w.start(t, serverOptions{Flags: []string{"--send-rate", "0"}})
	var users []user
	for _, n := range []string{"ann", "ben", "cat", "dan"} {
		users = append(users, w.api.register(t, w.name(n)))
	}
	var sent []message
	for i := range 40 {
		from, to := users[i%4], users[(i+1+i/4)%4]
		if from.ID == to.ID {
			to = users[(i+2)%4]
		}
		sent = append(sent, w.send(t, from, to, fmt.Sprintf("before the move %d", i), ""))
	}
	for i, m := range sent {
		if i%3 == 0 {
			for _, u := range users {
				if u.ID == m.To {
					w.markRead(t, u, http.MethodPatch, m)
				}
			}
		}
	}
	checkViews(t, w.api, w.model, users...)
	before := checkViews(t, w.api, w.model, users...)
	w.srv.stop()

	moves := map[int]string{shardOf(users[0].ID): "p_ann", shardOf(users[1].ID): "p_ben"}
	// "shards of" takes an id, not a name.
	if r := inst.run(t, "shards", "of", users[0].ID); r.Err != nil || !strings.Contains(r.Stdout, fmt.Sprintf("virtual shard %d,", shardOf(users[0].ID))) {
		t.Errorf("shards of %s: %v %q, want virtual shard %d", users[0].ID, r.Err, r.Stdout, shardOf(users[0].ID))
	}
	if r := inst.run(t, "shards", "of", users[0].Name); r.Err == nil || !strings.Contains(r.Stderr, "is not a user id") {
		t.Errorf("shards of %s (a name): %v %q %q, want an error saying it is not a user id", users[0].Name, r.Err, r.Stdout, r.Stderr)
	}
	for shard, placement := range moves {
		// A placement is created explicitly, never by a move to it.
		if r := inst.run(t, "shards", "move", fmt.Sprint(shard), placement); r.Err == nil || !strings.Contains(r.Stderr, "no such placement") {
			t.Fatalf("shards move %d %s to a placement nobody created: %v %q, want a refusal", shard, placement, r.Err, r.Stderr)
		}
		if r := inst.run(t, "shards", "placements", "add", placement); r.Err != nil {
			t.Fatalf("shards placements add %s: %v\n%s", placement, r.Err, r.Stderr)
		}
		if list := inst.run(t, "shards", "list"); !regexp.MustCompile(`(?m)^` + placement + `\s+0$`).MatchString(list.Stdout) {
			t.Errorf("shards list after placements add %s, want it with no shard:\n%s", placement, list.Stdout)
		}
		r := inst.run(t, "shards", "move", fmt.Sprint(shard), placement)
		if r.Err != nil {
			t.Fatalf("shards move %d %s: %v\n%s", shard, placement, r.Err, r.Stderr)
		}
		if !strings.Contains(r.Stdout, fmt.Sprintf("shard %d moved to %s", shard, placement)) || !strings.Contains(r.Stderr, "events (100.0%)") {
			t.Errorf("shards move output:\n%s\n%s", r.Stdout, r.Stderr)
		}
	}
	list := inst.run(t, "shards", "list")
	for _, placement := range moves {
		if !regexp.MustCompile(`(?m)^` + placement + `\s+1$`).MatchString(list.Stdout) {
			t.Errorf("shards list lacks %s with one shard:\n%s", placement, list.Stdout)
		}
	}
	if !regexp.MustCompile(`(?m)^default\s+1022$`).MatchString(list.Stdout) {
		t.Errorf("shards list, want 1022 shards left on default:\n%s", list.Stdout)
	}

	w.start(t, serverOptions{Flags: []string{"--send-rate", "0"}})
	after := checkViews(t, w.api, w.model, users...)
	for _, u := range users {
		compareSnapshots(t, u.Name+" after the moves", after[u.Name], before[u.Name])
	}
	// Traffic goes on; the moved users' new rows land on their placements.
	for i := range 8 {
		w.send(t, users[i%4], users[(i+1)%4], fmt.Sprintf("after the move %d", i), "")
	}
	checkViews(t, w.api, w.model, users...) // marks the new messages delivered
	settled := checkViews(t, w.api, w.model, users...)
	w.srv.stop()
	if r := inst.run(t, "replay"); r.Err != nil {
		t.Fatalf("replay: %v\n%s", r.Err, r.Stderr)
	}
	w.start(t, serverOptions{Flags: []string{"--send-rate", "0"}})
	replayed := checkViews(t, w.api, w.model, users...)
	for _, u := range users {
		compareSnapshots(t, u.Name+" after a replay", replayed[u.Name], settled[u.Name])
	}
}
