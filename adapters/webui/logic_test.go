package webui

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The client's pure logic (static/logic.js) runs under Node.js here: each
// case calls one function with JSON arguments and compares its JSON result.
// Times are ISO strings; the harness makes Dates of them, and the process's
// time zone is the case table's (TZ), so "Today" and "Yesterday" are tested
// in the zone they are computed in.

// logicCall is one call of a logic.js function.
type logicCall struct {
	Name string `json:"-"`
	Fn   string `json:"fn"`
	Args []any  `json:"args"`
	Want any    `json:"-"`
}

// logicHarness reads calls from stdin and prints their results as JSON.
// Date arguments of dayLabel, dayKey and calendarDaysBefore are ISO strings.
const logicHarness = `
const L = require(process.argv[1]);
const calls = JSON.parse(require("fs").readFileSync(0, "utf8"));
const D = (s) => new Date(s);
const adapt = {
  dayKey: (a) => L.dayKey(D(a)),
  dayLabel: (a, b) => L.dayLabel(D(a), D(b), "en-US"),
  calendarDaysBefore: (a, b) => L.calendarDaysBefore(D(a), D(b)),
};
console.log(JSON.stringify(calls.map((c) => {
  const f = adapt[c.fn] || L[c.fn];
  if (!f) return {error: "no function " + c.fn};
  const v = f(...c.args);
  return v === undefined ? null : v;
})));
`

// runLogic runs the calls in Node.js with TZ=tz and checks each result.
func runLogic(t *testing.T, tz string, calls []logicCall) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("TIDINGS_REQUIRE_BROWSER") == "1" {
			t.Fatal("node is not installed (TIDINGS_REQUIRE_BROWSER=1)")
		}
		t.Skip("node is not installed")
	}
	script, err := filepath.Abs("static/logic.js")
	if err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(calls)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "-e", logicHarness, script)
	cmd.Env = append(os.Environ(), "TZ="+tz)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v: %s", err, out)
	}
	var got []json.RawMessage
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(calls) {
		t.Fatalf("node printed %d results for %d calls (%v): %s", len(got), len(calls), err, out)
	}
	for i, c := range calls {
		t.Run(c.Name, func(t *testing.T) {
			want, _ := json.Marshal(c.Want)
			if !jsonEqual(t, got[i], want) {
				t.Errorf("%s(%v) = %s, want %s", c.Fn, c.Args, got[i], want)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("bad JSON %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("bad JSON %s: %v", b, err)
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}

// Day separators use the local calendar day: in New York, 03:00 UTC is
// still the evening before.
func TestLogicDayLabels(t *testing.T) {
	now := "2026-12-07T15:00:00Z" // Monday 10:00 in New York
	runLogic(t, "America/New_York", []logicCall{
		{Name: "same day", Fn: "dayLabel", Args: []any{"2026-12-07T05:30:00Z", now}, Want: "Today"},
		{Name: "UTC today is local yesterday", Fn: "dayLabel", Args: []any{"2026-12-07T03:00:00Z", now}, Want: "Yesterday"},
		{Name: "local midnight starts today", Fn: "dayLabel", Args: []any{"2026-12-07T05:00:00Z", now}, Want: "Today"},
		{Name: "a second before local midnight", Fn: "dayLabel", Args: []any{"2026-12-07T04:59:59Z", now}, Want: "Yesterday"},
		{Name: "two days ago is a weekday", Fn: "dayLabel", Args: []any{"2026-12-05T20:00:00Z", now}, Want: "Saturday"},
		{Name: "six days ago is a weekday", Fn: "dayLabel", Args: []any{"2026-12-01T20:00:00Z", now}, Want: "Tuesday"},
		{Name: "a week ago is a date", Fn: "dayLabel", Args: []any{"2026-11-30T20:00:00Z", now}, Want: "November 30"},
		{Name: "another year shows it", Fn: "dayLabel", Args: []any{"2025-12-31T20:00:00Z", now}, Want: "December 31, 2025"},
		{Name: "a later day (skewed clock) is a date", Fn: "dayLabel", Args: []any{"2026-12-09T15:00:00Z", now}, Want: "December 9"},
		{Name: "day key is local", Fn: "dayKey", Args: []any{"2026-12-07T03:00:00Z"}, Want: "2026-12-06"},
		// 2026-11-01 has 25 hours in New York (DST ends): still one day.
		{Name: "across the DST change", Fn: "calendarDaysBefore", Args: []any{"2026-11-01T12:00:00Z", "2026-11-02T12:00:00Z"}, Want: 1},
		{Name: "across spring forward", Fn: "calendarDaysBefore", Args: []any{"2026-03-08T12:00:00Z", "2026-03-09T12:00:00Z"}, Want: 1},
	})
	runLogic(t, "Asia/Tokyo", []logicCall{
		{Name: "Tokyo: UTC yesterday evening is local today", Fn: "dayLabel", Args: []any{"2026-12-06T20:00:00Z", "2026-12-07T03:00:00Z"}, Want: "Today"},
	})
}

type seg = map[string]string

func txt(s string) seg        { return seg{"text": s} }
func link(s, href string) seg { return seg{"text": s, "href": href} }

// Only http(s) URLs become links; everything else, hostile markup and
// javascript: URLs included, stays text (the client writes it with
// textContent).
func TestLogicLinkify(t *testing.T) {
	runLogic(t, "UTC", []logicCall{
		{Name: "plain text", Fn: "linkify", Args: []any{"no links here"}, Want: []seg{txt("no links here")}},
		{Name: "empty", Fn: "linkify", Args: []any{""}, Want: []seg{}},
		{Name: "one link", Fn: "linkify", Args: []any{"see https://example.com/a?b=1&c=2 now"},
			Want: []seg{txt("see "), link("https://example.com/a?b=1&c=2", "https://example.com/a?b=1&c=2"), txt(" now")}},
		{Name: "link only, host normalized", Fn: "linkify", Args: []any{"HTTP://Example.COM"},
			Want: []seg{link("HTTP://Example.COM", "http://example.com/")}},
		{Name: "sentence punctuation stays out", Fn: "linkify", Args: []any{"Read https://example.com/x. Then https://example.org/y, ok?"},
			Want: []seg{txt("Read "), link("https://example.com/x", "https://example.com/x"), txt(". Then "),
				link("https://example.org/y", "https://example.org/y"), txt(", ok?")}},
		{Name: "parenthesised link", Fn: "linkify", Args: []any{"(see https://example.com/a)"},
			Want: []seg{txt("(see "), link("https://example.com/a", "https://example.com/a"), txt(")")}},
		{Name: "balanced parentheses stay", Fn: "linkify", Args: []any{"https://en.wikipedia.org/wiki/Go_(game)"},
			Want: []seg{link("https://en.wikipedia.org/wiki/Go_(game)", "https://en.wikipedia.org/wiki/Go_(game)")}},
		{Name: "javascript URL is text", Fn: "linkify", Args: []any{"javascript:alert(1)"}, Want: []seg{txt("javascript:alert(1)")}},
		{Name: "javascript after an http prefix is text", Fn: "linkify", Args: []any{"xhttp://javascript:alert(1)"},
			Want: []seg{txt("xhttp://javascript:alert(1)")}},
		{Name: "data and file URLs are text", Fn: "linkify", Args: []any{"data:text/html,<script>alert(1)</script> file:///etc/passwd"},
			Want: []seg{txt("data:text/html,<script>alert(1)</script> file:///etc/passwd")}},
		{Name: "markup is text", Fn: "linkify", Args: []any{`<img src=x onerror=alert(1)>`}, Want: []seg{txt(`<img src=x onerror=alert(1)>`)}},
		{Name: "a link ends at markup", Fn: "linkify", Args: []any{`<a href="https://evil.example/">x</a>`},
			Want: []seg{txt(`<a href="`), link("https://evil.example/", "https://evil.example/"), txt(`">x</a>`)}},
		{Name: "quotes in a URL are escaped by the parser", Fn: "linkify", Args: []any{`https://a.example/'onmouseover=alert(1)'x`},
			Want: []seg{link(`https://a.example/'onmouseover=alert(1)'x`, `https://a.example/'onmouseover=alert(1)'x`)}},
		{Name: "scheme without host is text", Fn: "linkify", Args: []any{"https:// nothing"}, Want: []seg{txt("https:// nothing")}},
		{Name: "schemeless is text", Fn: "linkify", Args: []any{"www.example.com"}, Want: []seg{txt("www.example.com")}},
		{Name: "new lines kept", Fn: "linkify", Args: []any{"a\nhttps://b.example\nc"},
			Want: []seg{txt("a\n"), link("https://b.example", "https://b.example/"), txt("\nc")}},
	})
}

func TestLogicUnreadTitleAndDivider(t *testing.T) {
	convs := []map[string]any{{"peer": "a", "unread": 2}, {"peer": "b", "unread": 5}, {"peer": "c", "unread": 0}}
	msgs := []map[string]string{
		{"id": "1", "from": "b", "status": "read"},
		{"id": "2", "from": "me", "status": "delivered"},
		{"id": "3", "from": "b", "status": "delivered"},
		{"id": "4", "from": "me", "status": "sent"},
		{"id": "5", "from": "b", "status": "sent"},
	}
	runLogic(t, "UTC", []logicCall{
		{Name: "total, no thread open", Fn: "unreadTotal", Args: []any{convs, nil, 0}, Want: 7},
		{Name: "open thread counts its unread messages", Fn: "unreadTotal", Args: []any{convs, "b", 1}, Want: 3},
		{Name: "title with unread", Fn: "unreadTitle", Args: []any{3}, Want: "(3) tidings"},
		{Name: "title without unread", Fn: "unreadTitle", Args: []any{0}, Want: "tidings"},
		{Name: "title caps", Fn: "unreadTitle", Args: []any{1500}, Want: "(999+) tidings"},
		{Name: "divider above the oldest unread received", Fn: "unreadDivider", Args: []any{msgs, "me", 0}, Want: map[string]any{"id": "3", "count": 2}},
		{Name: "divider counts unread not loaded yet", Fn: "unreadDivider", Args: []any{msgs, "me", 40}, Want: map[string]any{"id": "3", "count": 40}},
		{Name: "no divider when all read", Fn: "unreadDivider", Args: []any{msgs[:2], "me", 0}, Want: nil},
		{Name: "one unread", Fn: "unreadLabel", Args: []any{1}, Want: "1 unread message"},
		{Name: "several unread", Fn: "unreadLabel", Args: []any{4}, Want: "4 unread messages"},
	})
}

func TestLogicTicks(t *testing.T) {
	tick := func(status string, n int, glyph, tone, label string) logicCall {
		return logicCall{Name: status, Fn: "tickState", Args: []any{status},
			Want: map[string]any{"status": map[string]string{"bogus": "sent"}[status] + status, "ticks": n, "glyph": glyph, "tone": tone, "label": label}}
	}
	unknown := tick("bogus", 1, "", "muted", "Sent")
	unknown.Want.(map[string]any)["status"] = "sent"
	runLogic(t, "UTC", []logicCall{
		tick("pending", 0, "🕓", "muted", "Sending"),
		tick("sent", 1, "", "muted", "Sent"),
		tick("delivered", 2, "", "muted", "Delivered"),
		tick("read", 2, "", "read", "Read"),
		tick("failed", 0, "!", "danger", "Not sent"),
		unknown,
	})
}

func TestLogicNotifications(t *testing.T) {
	m := map[string]string{"id": "1", "from": "bob", "to": "me", "status": "sent",
		"text": "Hello there,\n\nthis is a long message that goes on and on, far longer than any notification should ever show to whoever looks at the screen."}
	ctx := func(change map[string]any) map[string]any {
		c := map[string]any{"me": "me", "open": "bob", "hidden": true, "enabled": true, "permission": "granted", "live": true, "name": "bob"}
		for k, v := range change {
			c[k] = v
		}
		return c
	}
	with := func(k, v string) map[string]string {
		c := map[string]string{}
		for a, b := range m {
			c[a] = b
		}
		c[k] = v
		return c
	}
	want := map[string]any{"title": "bob", "tag": "tidings-bob",
		"body": "Hello there, this is a long message that goes on and on, far longer than any…"}
	runLogic(t, "UTC", []logicCall{
		{Name: "hidden tab: name and a short preview", Fn: "notificationFor", Args: []any{m, ctx(nil)}, Want: want},
		{Name: "visible tab: none", Fn: "notificationFor", Args: []any{m, ctx(map[string]any{"hidden": false, "open": "carol"})}, Want: nil},
		{Name: "not enabled by the user: none", Fn: "notificationFor", Args: []any{m, ctx(map[string]any{"enabled": false})}, Want: nil},
		{Name: "permission not granted: none", Fn: "notificationFor", Args: []any{m, ctx(map[string]any{"permission": "default"})}, Want: nil},
		{Name: "backlog replay: none", Fn: "notificationFor", Args: []any{m, ctx(map[string]any{"live": false})}, Want: nil},
		{Name: "own message (another device): none", Fn: "notificationFor", Args: []any{with("from", "me"), ctx(nil)}, Want: nil},
		{Name: "already read: none", Fn: "notificationFor", Args: []any{with("status", "read"), ctx(nil)}, Want: nil},
		{Name: "short text whole", Fn: "preview", Args: []any{"  hi\tthere  ", 80}, Want: "hi there"},
		{Name: "preview cuts a long word", Fn: "preview", Args: []any{"abcdefghijklmnopqrstuvwxyz", 10}, Want: "abcdefghi…"},
		{Name: "preview counts code points", Fn: "preview", Args: []any{"😀😀😀😀", 3}, Want: "😀😀…"},
	})
}
