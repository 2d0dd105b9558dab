package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// rawViews is everything the API shows one user, as raw JSON values (so
// the edit and delete fields count too): the unread inbox, the
// conversations, every history, and each message by id with its versions.
type rawViews map[string]string

func rawViewsOf(t *testing.T, a *api, u user, peers []user, ids []string) rawViews {
	t.Helper()
	out := rawViews{}
	list := func(path string) {
		items, _ := collect[json.RawMessage](t, a, u, path)
		b, _ := json.Marshal(items)
		out[path] = string(b)
	}
	list("/messages?limit=2")
	list("/conversations?limit=1")
	for _, p := range peers {
		if p.ID != u.ID {
			list("/conversations/" + p.ID + "/messages?limit=2")
		}
	}
	for _, id := range ids {
		for _, path := range []string{"/messages/" + id, "/messages/" + id + "/versions"} {
			res := a.get(t, u, path)
			out[path] = fmt.Sprintf("%d %s", res.Status, strings.TrimSpace(string(res.Body)))
		}
	}
	return out
}

func diffRawViews(t *testing.T, who string, got, want rawViews) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: GET %s\n got  %s\n want %s", who, k, got[k], w)
		}
	}
}

// TestEditsDeletesAndReplay drives edits, deletes for everyone and for
// me, replies and reactions on the built binary, checks what each party
// sees (and what the recipient is pushed over WebSocket), then replays the
// log and expects every view of every user to be as before.
func TestEditsDeletesAndReplay(t *testing.T) {
	t.Parallel()
	inst := newInstance(t)
	w := &world{inst: inst, pos: newPositions(), model: newModel(), sfx: randomSuffix(6)}
	w.start(t, serverOptions{})
	ada, ben, cy := w.api.register(t, w.name("ada")), w.api.register(t, w.name("ben")), w.api.register(t, w.name("cy"))
	users := []user{ada, ben, cy}
	ws := wsDial(t, w.srv, ben, "", "ben")
	ws.ready(t)

	var ids []string
	var msgs []message
	for i := range 6 {
		from, to := ada, ben
		if i%3 == 2 {
			from, to = ben, ada
		}
		m := w.send(t, from, to, fmt.Sprintf("message %d", i), "")
		msgs, ids = append(msgs, m), append(ids, m.ID)
		ws.expectFrame(t, from == ada, "message")
	}
	edit := func(u user, id, text string) response {
		return w.api.do(t, request{Method: http.MethodPatch, Path: "/messages/" + id, Token: u.Token, Body: jsonBody(t, map[string]string{"text": text})})
	}
	// Ada edits message 0 twice; ben, the recipient, and cy may not.
	for _, u := range []user{ben, cy} {
		expectError(t, edit(u, ids[0], "not mine"), http.StatusNotFound, "not_found")
	}
	res := edit(ada, ids[0], "message 0, fixed")
	expectStatus(t, res, http.StatusOK)
	res = edit(ada, ids[0], "message 0, fixed twice")
	expectStatus(t, res, http.StatusOK)
	var got struct {
		Text    string `json:"text"`
		Version int    `json:"version"`
		Edited  bool   `json:"edited"`
		Deleted bool   `json:"deleted"`
	}
	if json.Unmarshal(res.Body, &got) != nil || got.Text != "message 0, fixed twice" || got.Version != 3 || !got.Edited {
		t.Fatalf("second edit: %v", res)
	}
	for _, want := range []string{"message 0, fixed", "message 0, fixed twice"} {
		f := ws.expect(t, "edited")
		if f.ID != ids[0] || !strings.Contains(string(f.raw), `"text":"`+want+`"`) {
			t.Fatalf("ben was pushed %s, want the edit to %q", f, want)
		}
	}
	// The recipient marks the edited message read with the old PATCH.
	w.api.do(t, request{Method: http.MethodPatch, Path: "/messages/" + ids[0], Token: ben.Token})
	ws.expectFrame(t, true, "read")
	// Ben replies to the edited message 0 (version 3) and to message 1,
	// which ada then deletes: the first quote stays, the second becomes a
	// tombstone.
	reply := func(to user, replyTo string) string {
		t.Helper()
		res := w.api.post(t, ben, "/messages", map[string]string{"to": to.ID, "text": "re", "reply_to": replyTo})
		expectStatus(t, res, http.StatusOK)
		return decode[message](t, res).ID
	}
	ids = append(ids, reply(ada, ids[0]), reply(ada, ids[1]))
	expectError(t, w.api.post(t, cy, "/messages", map[string]string{"to": ada.ID, "text": "re", "reply_to": ids[0]}), http.StatusBadRequest, "invalid_reply_to")
	// Reactions: ben on message 4, ada on it too (ben is pushed hers), then
	// ada edits it, which leaves both on version 1.
	react := func(u user, id, emoji string) {
		t.Helper()
		expectStatus(t, w.api.do(t, request{Method: http.MethodPut, Path: "/messages/" + id + "/reaction", Token: u.Token,
			Body: jsonBody(t, map[string]string{"emoji": emoji})}), http.StatusOK)
	}
	react(ben, ids[4], "👍")
	if f := ws.expect(t, "reaction"); f.ID != ids[4] || !strings.Contains(string(f.raw), `"emoji":"👍"`) {
		t.Fatalf("ben was pushed %s, want his reaction for his other devices", f)
	}
	react(ada, ids[4], "❤️")
	if f := ws.expect(t, "reaction"); !strings.Contains(string(f.raw), `"by":"`+ada.ID+`","emoji":"❤️","version":1`) {
		t.Fatalf("ben was pushed %s, want ada's reaction", f)
	}
	expectStatus(t, edit(ada, ids[4], "message 4, edited after the reactions"), http.StatusOK)
	ws.expect(t, "edited")
	// Ada deletes message 1 for everyone after editing it.
	expectStatus(t, edit(ada, ids[1], "message 1, with a secret"), http.StatusOK)
	ws.expect(t, "edited")
	expectError(t, w.api.do(t, request{Method: http.MethodDelete, Path: "/messages/" + ids[1] + "?for=everyone", Token: ben.Token}), http.StatusNotFound, "not_found")
	res = w.api.do(t, request{Method: http.MethodDelete, Path: "/messages/" + ids[1] + "?for=everyone", Token: ada.Token})
	expectStatus(t, res, http.StatusOK)
	if f := ws.expect(t, "deleted"); f.ID != ids[1] {
		t.Fatalf("ben was pushed %s, want the delete of %s", f, ids[1])
	}
	expectError(t, edit(ada, ids[1], "again"), http.StatusConflict, "message_deleted")
	// Ben deletes message 3 for himself; ada deletes message 2 (ben's) for herself.
	expectStatus(t, w.api.do(t, request{Method: http.MethodDelete, Path: "/messages/" + ids[3] + "?for=me", Token: ben.Token}), http.StatusNoContent)
	if f := ws.expect(t, "hidden"); f.ID != ids[3] {
		t.Fatalf("ben was pushed %s, want the hide of %s", f, ids[3])
	}
	expectStatus(t, w.api.do(t, request{Method: http.MethodDelete, Path: "/messages/" + ids[2] + "?for=me", Token: ada.Token}), http.StatusNoContent)

	// Reading an inbox marks its messages delivered, so the first look
	// changes what the second sees: compare with the settled views.
	before := map[string]rawViews{}
	for range 2 {
		for _, u := range users {
			before[u.Name] = rawViewsOf(t, w.api, u, users, ids)
		}
	}
	for _, u := range []user{ada, ben} {
		v := before[u.Name]
		for path, body := range v {
			if strings.Contains(body, "secret") || (strings.HasPrefix(path, "/messages?") || strings.HasPrefix(path, "/conversations")) && strings.Contains(body, `"text":"message 0"`) {
				t.Errorf("%s: GET %s shows deleted or replaced text: %s", u.Name, path, body)
			}
		}
		if !strings.HasPrefix(v["/messages/"+ids[1]], "200 ") || !strings.Contains(v["/messages/"+ids[1]], `"text":"","client_msg_id":null`) ||
			!strings.Contains(v["/messages/"+ids[1]], `"deleted":true`) || v["/messages/"+ids[1]+"/versions"] != "200 []" {
			t.Errorf("%s: the deleted message is not a tombstone: %s / %s", u.Name, v["/messages/"+ids[1]], v["/messages/"+ids[1]+"/versions"])
		}
		if !strings.Contains(v["/messages/"+ids[0]+"/versions"], `"text":"message 0"`) || !strings.Contains(v["/messages/"+ids[0]+"/versions"], `"version":3`) {
			t.Errorf("%s: versions of the edited message: %s", u.Name, v["/messages/"+ids[0]+"/versions"])
		}
	}
	for _, u := range []user{ada, ben} {
		if got := before[u.Name]["/messages/"+ids[4]]; !strings.Contains(got, `"reactions":[{"by":"`+ada.ID+`","emoji":"❤️","version":1,"stale":true},{"by":"`+ben.ID+`","emoji":"👍","version":1,"stale":true}]`) {
			t.Errorf("%s: reactions after an edit: %s", u.Name, got)
		}
		if got := before[u.Name]["/messages/"+ids[6]]; !strings.Contains(got, `"reply_to":{"id":"`+ids[0]+`","version":3,"text":"message 0, fixed twice"}`) {
			t.Errorf("%s: the reply to the edited message: %s", u.Name, got)
		}
		if got := before[u.Name]["/messages/"+ids[7]]; !strings.Contains(got, `"reply_to":{"id":"`+ids[1]+`","version":1,"deleted":true}`) {
			t.Errorf("%s: the reply to the deleted message: %s", u.Name, got)
		}
	}
	if !strings.HasPrefix(before[ben.Name]["/messages/"+ids[3]], "404 ") || !strings.HasPrefix(before[ada.Name]["/messages/"+ids[3]], "200 ") {
		t.Errorf("delete for me of message 3 by ben: ben %s, ada %s", before[ben.Name]["/messages/"+ids[3]], before[ada.Name]["/messages/"+ids[3]])
	}
	if !strings.HasPrefix(before[ada.Name]["/messages/"+ids[2]], "404 ") || !strings.HasPrefix(before[ben.Name]["/messages/"+ids[2]], "200 ") {
		t.Errorf("delete for me of message 2 by ada: ada %s, ben %s", before[ada.Name]["/messages/"+ids[2]], before[ben.Name]["/messages/"+ids[2]])
	}

	// Replay: the views rebuilt from the log equal the live ones.
	settledAppendedTotal(t, w.api)
	w.srv.stop()
	if r := inst.run(t, "replay"); r.Err != nil {
		t.Fatalf("tidings replay: %v\n%s", r.Err, r.Stderr)
	}
	w.start(t, serverOptions{})
	for _, u := range users {
		diffRawViews(t, u.Name+" after replay", rawViewsOf(t, w.api, u, users, ids), before[u.Name])
	}
}

// expectFrame reads the next frame, which must be of type typ when want
// is set (a frame the user is told of); it does nothing otherwise.
func (w *wsClient) expectFrame(t *testing.T, want bool, typ string) {
	t.Helper()
	if want {
		w.expect(t, typ)
	}
}
