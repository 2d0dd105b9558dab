package webui

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The web client orders a thread by (sent_at, id) as the server does, by
// the time's value rather than its text: times written with another
// number of fractional digits (as earlier versions did) must not reorder
// a thread (issue 11.16: 1, 3, 4 … 9, 2, 10). It runs the client's own
// orderKey in Node.js.
func TestClientOrdersByTimeNotText(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	src, err := os.ReadFile("static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	fn := regexp.MustCompile(`(?s)const orderKey = \(m\) => .*?\n  };?\n`).Find(src)
	if fn == nil {
		fn = regexp.MustCompile(`const orderKey = .*\n`).Find(src)
	}
	if fn == nil {
		t.Fatal("no orderKey in app.js")
	}
	script := string(fn) + `
const ms = [
  {sent_at: "2026-11-26T04:31:20.45Z", id: "3"},
  {sent_at: "2026-11-26T04:31:20.3Z", id: "1"},
  {sent_at: "2026-11-26T04:31:20.333Z", id: "2"},
  {sent_at: "2026-11-26T04:31:21Z", id: "4"},
  {sent_at: "2026-11-26T04:31:20.450Z", id: "35"},
];
console.log(ms.map(orderKey).sort().map((k) => k.split("|")[1]).join(","));
`
	out, err := exec.Command(node, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v: %s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "1,2,3,35,4"; got != want {
		t.Fatalf("thread order %s, want %s", got, want)
	}
}
