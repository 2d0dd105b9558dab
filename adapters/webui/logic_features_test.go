package webui

import "testing"

// Table tests of the logic behind edits, deletes, replies, reactions,
// typing and presence (static/logic.js; the UI is in static/messages.js
// and static/presence.js). Windows and rhythms are docs/api.md's and
// docs/websocket.md's.

type obj = map[string]any

func TestLogicEditAndDeleteWindows(t *testing.T) {
	sent := "2026-12-07T12:00:00Z"
	mine := obj{"id": "m1", "from": "me", "to": "you", "text": "hi", "sent_at": sent}
	theirs := obj{"id": "m2", "from": "you", "to": "me", "text": "hi", "sent_at": sent}
	deleted := obj{"id": "m3", "from": "me", "to": "you", "text": "", "deleted": true, "sent_at": sent}
	erased := obj{"id": "m4", "from": "me", "to": "you", "text": "", "erased": true, "sent_at": sent}
	runLogic(t, "UTC", []logicCall{
		{Name: "edit own at once", Fn: "canEdit", Args: []any{mine, "me", "2026-12-07T12:00:01Z"}, Want: true},
		{Name: "edit own at 14:59", Fn: "canEdit", Args: []any{mine, "me", "2026-12-07T12:14:59Z"}, Want: true},
		{Name: "no edit at 15:00", Fn: "canEdit", Args: []any{mine, "me", "2026-12-07T12:15:00Z"}, Want: false},
		{Name: "no edit of theirs", Fn: "canEdit", Args: []any{theirs, "me", "2026-12-07T12:00:01Z"}, Want: false},
		{Name: "no edit of a tombstone", Fn: "canEdit", Args: []any{deleted, "me", "2026-12-07T12:00:01Z"}, Want: false},
		{Name: "no edit of erased", Fn: "canEdit", Args: []any{erased, "me", "2026-12-07T12:00:01Z"}, Want: false},
		{Name: "no edit without a time", Fn: "canEdit", Args: []any{obj{"from": "me"}, "me", "2026-12-07T12:00:01Z"}, Want: false},
		{Name: "delete own within 48 h", Fn: "canDeleteForEveryone", Args: []any{mine, "me", "2026-12-09T11:59:59Z"}, Want: true},
		{Name: "no delete for everyone after 48 h", Fn: "canDeleteForEveryone", Args: []any{mine, "me", "2026-12-09T12:00:00Z"}, Want: false},
		{Name: "no delete for everyone of theirs", Fn: "canDeleteForEveryone", Args: []any{theirs, "me", "2026-12-07T12:00:01Z"}, Want: false},
		{Name: "no delete twice", Fn: "canDeleteForEveryone", Args: []any{deleted, "me", "2026-12-07T12:00:01Z"}, Want: false},
	})
}

func TestLogicReactions(t *testing.T) {
	s, r := "sender", "recipient"
	runLogic(t, "UTC", []logicCall{
		{Name: "first reaction", Fn: "applyReaction", Args: []any{nil, s, r, "👍", 1},
			Want: []obj{{"by": r, "emoji": "👍", "version": 1}}},
		{Name: "sender's first", Fn: "applyReaction", Args: []any{[]obj{{"by": r, "emoji": "👍", "version": 1}}, s, s, "❤️", 2},
			Want: []obj{{"by": s, "emoji": "❤️", "version": 2}, {"by": r, "emoji": "👍", "version": 1}}},
		{Name: "one per party: a change replaces", Fn: "applyReaction", Args: []any{[]obj{{"by": r, "emoji": "👍", "version": 1}}, s, r, "😂", 2},
			Want: []obj{{"by": r, "emoji": "😂", "version": 2}}},
		{Name: "empty emoji removes", Fn: "applyReaction", Args: []any{[]obj{{"by": s, "emoji": "👍", "version": 1}, {"by": r, "emoji": "😮", "version": 1}}, s, s, "", 1},
			Want: []obj{{"by": r, "emoji": "😮", "version": 1}}},
		{Name: "current and stale", Fn: "reactionView", Args: []any{[]obj{{"by": s, "emoji": "👍", "version": 2}, {"by": r, "emoji": "😂", "version": 1}}, 2, r},
			Want: []obj{{"emoji": "👍", "mine": false, "stale": false}, {"emoji": "😂", "mine": true, "stale": true}}},
		{Name: "never edited: nothing stale", Fn: "reactionView", Args: []any{[]obj{{"by": r, "emoji": "👍", "version": 1}}, nil, r},
			Want: []obj{{"emoji": "👍", "mine": true, "stale": false}}},
		{Name: "no reactions", Fn: "reactionView", Args: []any{nil, 1, r}, Want: []obj{}},
	})
}

func TestLogicQuotes(t *testing.T) {
	orig := obj{"id": "q", "text": "v2 text", "version": 2}
	runLogic(t, "UTC", []logicCall{
		{Name: "REST quote text", Fn: "quoteOf", Args: []any{obj{"id": "q", "version": 1, "text": "v1 text"}, orig}, Want: obj{"kind": "text", "text": "v1 text"}},
		{Name: "REST quote deleted", Fn: "quoteOf", Args: []any{obj{"id": "q", "version": 1, "deleted": true}, nil}, Want: obj{"kind": "deleted"}},
		{Name: "REST quote unavailable", Fn: "quoteOf", Args: []any{obj{"id": "q", "version": 1, "unavailable": true}, nil}, Want: obj{"kind": "unavailable"}},
		{Name: "push: the loaded version", Fn: "quoteOf", Args: []any{obj{"id": "q", "version": 2}, orig}, Want: obj{"kind": "text", "text": "v2 text"}},
		{Name: "push: an older version must be loaded", Fn: "quoteOf", Args: []any{obj{"id": "q", "version": 1}, orig}, Want: obj{"kind": "load"}},
		{Name: "push: not loaded", Fn: "quoteOf", Args: []any{obj{"id": "q", "version": 1}, nil}, Want: obj{"kind": "load"}},
		{Name: "quoted message deleted since", Fn: "quoteOf", Args: []any{obj{"id": "q", "version": 1, "text": "v1 text"}, obj{"id": "q", "deleted": true}}, Want: obj{"kind": "deleted"}},
		{Name: "not a reply", Fn: "quoteOf", Args: []any{nil, nil}, Want: nil},
	})
}

func TestLogicTypingRhythm(t *testing.T) {
	idle := obj{"typing": false, "last": 0}
	typing := obj{"typing": true, "last": 10000}
	runLogic(t, "UTC", []logicCall{
		{Name: "first key starts", Fn: "typingStep", Args: []any{idle, obj{"kind": "input", "text": "h", "now": 10000}},
			Want: obj{"send": "start", "state": obj{"typing": true, "last": 10000}}},
		{Name: "keys within 3 s send nothing", Fn: "typingStep", Args: []any{typing, obj{"kind": "input", "text": "he", "now": 12999}},
			Want: obj{"send": nil, "state": typing}},
		{Name: "after 3 s start again", Fn: "typingStep", Args: []any{typing, obj{"kind": "input", "text": "hel", "now": 13000}},
			Want: obj{"send": "start", "state": obj{"typing": true, "last": 13000}}},
		{Name: "cleared stops", Fn: "typingStep", Args: []any{typing, obj{"kind": "input", "text": "", "now": 11000}},
			Want: obj{"send": "stop", "state": idle}},
		{Name: "blank is not typing", Fn: "typingStep", Args: []any{idle, obj{"kind": "input", "text": "  \n", "now": 11000}},
			Want: obj{"send": nil, "state": idle}},
		{Name: "send stops", Fn: "typingStep", Args: []any{typing, obj{"kind": "send", "now": 11000}},
			Want: obj{"send": "stop", "state": idle}},
		{Name: "blur stops", Fn: "typingStep", Args: []any{typing, obj{"kind": "blur", "text": "draft", "now": 11000}},
			Want: obj{"send": "stop", "state": idle}},
		{Name: "blur while idle sends nothing", Fn: "typingStep", Args: []any{idle, obj{"kind": "blur", "now": 11000}},
			Want: obj{"send": nil, "state": idle}},
	})
}

func TestLogicPresenceLabel(t *testing.T) {
	now := "2026-12-07T23:30:00Z"
	runLogic(t, "UTC", []logicCall{
		{Name: "online", Fn: "presenceLabel", Args: []any{obj{"online": true, "last_seen": nil}, now}, Want: "online"},
		{Name: "today", Fn: "presenceLabel", Args: []any{obj{"online": false, "last_seen": "2026-12-07T23:10:04.512Z"}, now}, Want: "last seen today at 11:10 PM"},
		{Name: "yesterday", Fn: "presenceLabel", Args: []any{obj{"online": false, "last_seen": "2026-12-06T08:05:00Z"}, now}, Want: "last seen yesterday at 8:05 AM"},
		{Name: "earlier", Fn: "presenceLabel", Args: []any{obj{"online": false, "last_seen": "2026-12-01T08:05:00Z"}, now}, Want: "last seen Dec 1 at 8:05 AM"},
		{Name: "another year", Fn: "presenceLabel", Args: []any{obj{"online": false, "last_seen": "2025-12-01T08:05:00Z"}, now}, Want: "last seen Dec 1, 2025 at 8:05 AM"},
		{Name: "hidden or never seen", Fn: "presenceLabel", Args: []any{obj{"online": false, "last_seen": nil}, now}, Want: ""},
		{Name: "unknown", Fn: "presenceLabel", Args: []any{nil, now}, Want: ""},
	})
}
