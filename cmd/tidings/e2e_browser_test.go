package main

// End-to-end test of the web client (adapters/webui) in a real browser:
// Debian's chromium, driven over the DevTools protocol by chromedp. Two
// browsers (two users, each with a profile of its own) sign up through the
// UI and chat; one goes offline and comes back. See docs/web-client.md.
//
//	go test -count=1 -run Browser ./cmd/tidings/
//
// Without /usr/bin/chromium the test is skipped, unless
// TIDINGS_REQUIRE_BROWSER=1 (then it fails). On failure, screenshots of both
// browsers go to $TIDINGS_ARTIFACTS (default: $TMPDIR/tidings-artifacts).
// TIDINGS_WEB_SCREENSHOTS=docs/img also writes web-client.png (desktop),
// web-client-phone.png (phone) and web-client-dark.png (desktop, dark
// theme) at the end, and web-client-ticks.png (A's ticks, sent and read).

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const browserChromiumPath = "/usr/bin/chromium"

// browserTab is one browser process (own profile) with one tab.
type browserTab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// requireBrowser skips the test when chromium is missing, or fails it when
// TIDINGS_REQUIRE_BROWSER=1.
func requireBrowser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(browserChromiumPath); err != nil {
		if os.Getenv("TIDINGS_REQUIRE_BROWSER") == "1" {
			t.Fatalf("TIDINGS_REQUIRE_BROWSER=1 but %s is missing (apt-get install -y chromium): %v", browserChromiumPath, err)
		}
		t.Skipf("browser test skipped: %s not found (apt-get install -y chromium; TIDINGS_REQUIRE_BROWSER=1 makes this a failure)", browserChromiumPath)
	}
}

// browserArtifactsDir returns where failure screenshots go.
func browserArtifactsDir(t *testing.T) string {
	dir := os.Getenv("TIDINGS_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tidings-artifacts")
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+time.Now().Format("20060102-150405"))
	return dir
}

// openBrowser starts chromium on a fresh profile in userDataDir, with a
// viewport of w×h CSS pixels at the given device scale (mobile: phone
// emulation). The browser is closed when the test ends; on failure a
// screenshot is saved first.
func openBrowser(t *testing.T, parent context.Context, name string, w, h int64, scale float64, mobile bool) *browserTab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // root in a container
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(w), int(h)),
		chromedp.Env("TZ=UTC"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browserTab{t: t, name: name, ctx: ctx}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	vp := []chromedp.EmulateViewportOption{chromedp.EmulateScale(scale)}
	if mobile {
		vp = append(vp, chromedp.EmulatePortrait, chromedp.EmulateMobile)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h, vp...)); err != nil {
		t.Fatalf("%s: start chromium: %v", name, err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		b.mu.Lock()
		for _, m := range b.console {
			t.Logf("%s console: %s", name, m.String())
		}
		b.mu.Unlock()
		dir := browserArtifactsDir(t)
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Logf("%s: no screenshot: %v", name, err)
			return
		}
		if err := os.MkdirAll(dir, 0o755); err == nil {
			p := filepath.Join(dir, name+".png")
			if err := os.WriteFile(p, png, 0o644); err == nil {
				t.Logf("%s: screenshot saved to %s", name, p)
			}
		}
		if html, err := chromedp.Run(sctx, chromedp.OuterHTML(chromedp.CSS("body"))); err == nil {
			_ = os.WriteFile(filepath.Join(dir, name+".html"), []byte(html), 0o644)
		}
	})
	return b
}

// do runs steps, failing the test with what on error.
func (b *browserTab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// wait polls the JavaScript expression until it is true.
func (b *browserTab) wait(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		b.t.Fatalf("%s: waiting for %s (%s): %v", b.name, what, expr, err)
	}
}

// eval returns the JSON value of the expression.
func browserEval[T any](b *browserTab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: eval %s: %v", b.name, expr, err)
	}
	return v
}

// setOffline cuts (or restores) the tab's network, open WebSockets included.
func (b *browserTab) setOffline(offline bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		b.t.Fatalf("%s: Network.enable: %v", b.name, err)
	}
	var conds []*network.Conditions
	if offline {
		conds = []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule,
		network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: conds}); err != nil {
		b.t.Fatalf("%s: emulate offline=%v: %v", b.name, offline, err)
	}
	if _, err := chromedp.Call(ctx, network.OverrideNetworkState,
		network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		b.t.Fatalf("%s: override network state offline=%v: %v", b.name, offline, err)
	}
}

// exceptions returns the uncaught exceptions and CSP violations the page
// reported.
func (b *browserTab) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
			out = append(out, m.String())
		}
	}
	return out
}

// pressEnter presses Enter (with Shift: a new line) in the focused element
// as a keyboard does: one keydown that carries the text, then keyup. (A
// separate char event, as chromedp.KeyEvent sends, would type a new line
// even when the page handled the keydown.)
func pressEnter(shift bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var mods int64
		if shift {
			mods = int64(chromedp.ModifierShift)
		}
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter", Modifiers: mods,
			WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r"}
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		up := down
		up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		_, err := chromedp.Call(ctx, input.DispatchKeyEvent, up)
		return err
	})
}

// browserThreadTexts is an expression: the texts of the open thread, oldest first.
const browserThreadTexts = `JSON.stringify([...document.querySelectorAll("#msg-list li .text")].map(e => e.textContent))`

func browserJSString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestBrowserChat(t *testing.T) {
	requireBrowser(t)
	began := time.Now()
	inst := newInstance(t)
	srv := inst.start(t, serverOptions{})

	// Canceled after the browsers' cleanups (failure screenshots) ran.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	nameA, nameB := "alice-"+randomSuffix(5), "bob-"+randomSuffix(5)
	var a, b *browserTab
	var wg sync.WaitGroup
	wg.Go(func() { a = openBrowser(t, ctx, "A-desktop", 1200, 760, 1, false) })
	wg.Go(func() { b = openBrowser(t, ctx, "B-phone", 390, 780, 2, true) })
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}
	a.installPageHooks() // A: notifications and tab hiding (see e2e_browser_hooks_test.go)

	signUp := func(tab *browserTab, name string) {
		tab.do("sign up",
			chromedp.Navigate(srv.URL),
			chromedp.WaitVisible(chromedp.ID("signup-name")),
			chromedp.SendKeys(chromedp.ID("signup-name"), name),
			chromedp.Click(chromedp.ID("signup-btn")),
		)
		tab.wait("signed in as "+name, `document.getElementById("me-name").textContent === `+browserJSString(name))
		tab.wait("token kept", `(localStorage.getItem("tidings.token") || "").length > 20 && !document.getElementById("token-panel").hidden`)
		tab.wait("socket ready", `document.body.dataset.conn === "online"`)
	}
	signUp(a, nameA)
	signUp(b, nameB)
	// Notifications are offered, and nothing asked for them on load.
	a.wait("notification toggle off", `!document.getElementById("notify-btn").hidden && document.getElementById("notify-btn").getAttribute("aria-pressed") === "false"`)
	if n := browserEval[int](a, `window.__tidingsTest.asked`); n != 0 {
		t.Errorf("notification permission asked %d times on load, want only on a click", n)
	}

	// A starts a conversation with B by name and sends (Enter sends,
	// Shift+Enter is a new line). The text is HTML: it must show as text;
	// its https URL becomes a link, its javascript: URL stays text.
	m1 := "Hi! Is <b>this</b> bold? See https://example.com/docs?a=1&b=2.\n<img src=x onerror=\"document.title='pwned'\"> javascript:alert(1) (it should show as text)"
	a.do("start conversation", chromedp.SendKeys(chromedp.ID("start-name"), nameB+"\r"))
	a.wait("thread with B", `!document.getElementById("thread").hidden && document.getElementById("thread-title").textContent === `+browserJSString(nameB))
	a.do("type and send",
		chromedp.Focus(chromedp.ID("compose-text")),
		chromedp.KeyEvent("Hi! Is <b>this</b> bold? See https://example.com/docs?a=1&b=2."),
		pressEnter(true),
		chromedp.KeyEvent(`<img src=x onerror="document.title='pwned'"> javascript:alert(1) (it should show as text)`),
		pressEnter(false),
	)
	a.wait("own message sent", `(() => { const li = document.querySelector("#msg-list li.mine"); return li && li.dataset.id && ["sent","delivered","read"].includes(li.dataset.status) })()`)
	if got := browserEval[string](a, browserThreadTexts); got != browserJSON([]string{m1}) {
		t.Fatalf("A's thread = %s, want [%q]", got, m1)
	}
	if v := browserEval[string](a, `document.getElementById("compose-text").value`); v != "" {
		t.Errorf("compose box not cleared after send: %q", v)
	}

	// B sees it live in the list (unread badge, preview), opens it.
	b.wait("conversation from A with 1 unread", `[...document.querySelectorAll("#conv-list .conv")].some(c =>
		c.querySelector(".conv-name").textContent === `+browserJSString(nameA)+` &&
		(c.querySelector(".badge") || {}).textContent === "1" &&
		c.querySelector(".conv-preview").textContent.startsWith("Hi! Is <b>this</b>"))`)
	b.wait("unread total in the tab title", `document.title === "(1) tidings"`)
	b.do("open conversation", chromedp.Click(chromedp.CSS(`#conv-list .conv`)))
	b.wait("thread with A", `!document.getElementById("thread").hidden && document.getElementById("thread-title").textContent === `+browserJSString(nameA))
	b.wait("message shown as text", browserThreadTexts+` === `+browserJSString(browserJSON([]string{m1})))
	// The unread divider stands above the first unread message, under the
	// day separator (all of today); the title clears once it is read.
	if got := browserEval[string](b, `JSON.stringify([...document.querySelectorAll("#msg-list > li")].map(li =>
		li.classList.contains("sep") ? li.className + ":" + li.textContent : "msg"))`); got != browserJSON([]string{"sep day:Today", "sep unread-divider:1 unread message", "msg"}) {
		t.Errorf("B's thread = %s, want a day separator, the unread divider, the message", got)
	}
	b.wait("title without unread", `document.title === "tidings"`)
	b.do("mark the day separator", chromedp.Evaluate[chromedp.Void](`document.querySelector("#msg-list li.sep.day").dataset.mark = "kept"`))
	if n := browserEval[int](b, `document.querySelectorAll("#msg-list b, #msg-list img").length`); n != 0 {
		t.Errorf("message text was rendered as HTML (%d elements)", n)
	}
	wantLinks := browserJSON([][]string{{"https://example.com/docs?a=1&b=2", "_blank", "noopener noreferrer", "https://example.com/docs?a=1&b=2"}})
	if got := browserEval[string](b, browserThreadLinks); got != wantLinks {
		t.Errorf("links in B's thread = %s, want %s (only the https URL, javascript: as text)", got, wantLinks)
	}
	if title := browserEval[string](b, `document.title`); title == "pwned" {
		t.Errorf("script in a message ran")
	}
	if vis := browserEval[bool](b, `getComputedStyle(document.getElementById("list-pane")).display === "none"`); !vis {
		t.Errorf("phone layout: the list is still shown next to the open thread")
	}

	// A sees the read tick.
	a.wait("read tick", `(() => { const li = document.querySelector("#msg-list li.mine"); const t = li && li.querySelector(".ticks");
		return t && li.dataset.status === "read" && t.dataset.ticks === "2" && t.getAttribute("aria-label") === "Read" && t.title === "Read" })()`)

	// B goes offline; A sends twice; B comes back and sees both exactly once.
	b.setOffline(true)
	b.wait("offline banner", `document.body.dataset.conn === "offline" && !document.getElementById("banner").hidden`)
	m2, m3 := "Are you there?", "Sending this while you are offline."
	for _, m := range []string{m2, m3} {
		a.do("send "+m, chromedp.Focus(chromedp.ID("compose-text")), chromedp.KeyEvent(m), pressEnter(false))
	}
	a.wait("both sent", `[...document.querySelectorAll("#msg-list li.mine")].filter(li => li.dataset.id && li.dataset.status !== "pending").length === 3`)
	if got := browserEval[string](b, browserThreadTexts); got != browserJSON([]string{m1}) {
		t.Fatalf("B got messages while offline: %s", got)
	}
	// Ticks tell the states apart: A's new messages have one tick labelled
	// "Sent", the read one two labelled "Read", in another colour.
	if got := browserEval[string](a, `JSON.stringify([...document.querySelectorAll("#msg-list li.mine .ticks")].map(t =>
		[t.dataset.ticks, t.getAttribute("aria-label"), t.querySelectorAll("svg").length]))`); got != `[["2","Read",1],["1","Sent",1],["1","Sent",1]]` {
		t.Errorf("A's ticks = %s, want two ticks read, then one tick sent twice", got)
	}
	if same := browserEval[bool](a, `(t => getComputedStyle(t[0]).color === getComputedStyle(t[1]).color)(document.querySelectorAll("#msg-list li.mine .ticks"))`); same {
		t.Errorf("read and sent ticks have the same colour")
	}
	if dir := os.Getenv("TIDINGS_WEB_SCREENSHOTS"); dir != "" {
		a.emulateMedia(&emulation.MediaFeature{Name: "prefers-reduced-motion", Value: "reduce"}) // no fade-in
		png, err := chromedp.Run(a.ctx, chromedp.ScreenshotScale(chromedp.CSS("#msg-list"), 2))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "web-client-ticks.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		a.emulateMedia()
	}
	b.setOffline(false)
	want := browserJSON([]string{m1, m2, m3})
	b.wait("back online with both messages once", `document.body.dataset.conn === "online" && `+browserThreadTexts+` === `+browserJSString(want))
	a.wait("both read", `[...document.querySelectorAll("#msg-list li.mine")].every(li => li.dataset.status === "read")`)
	// New messages leave the separators alone (the list is a live region:
	// a separator inserted again would be announced again).
	if got := browserEval[string](b, `[...document.querySelectorAll("#msg-list li.sep")].map(s => s.textContent + ":" + (s.dataset.mark || "")).join()`); got != "Today:kept,1 unread message:" {
		t.Errorf("B's separators after new messages = %q, want the same Today separator and the divider", got)
	}

	// B closes the page (navigates away); A sends; B comes back: the
	// history and the socket resumed from the stored cursor (?since=)
	// overlap, and each message shows once.
	if c := browserEval[string](b, `Object.keys(localStorage).filter(k => k.startsWith("tidings.cursor.")).map(k => localStorage.getItem(k)).join()`); c == "" {
		t.Errorf("no resume cursor stored")
	}
	hash := browserEval[string](b, `location.hash`)
	b.do("leave the page", chromedp.Navigate("about:blank"))
	m4 := "And one more while your page was closed."
	a.do("send "+m4, chromedp.Focus(chromedp.ID("compose-text")), chromedp.KeyEvent(m4), pressEnter(false))
	a.wait("m4 sent", `[...document.querySelectorAll("#msg-list li.mine")].filter(li => li.dataset.id && li.dataset.status !== "pending").length === 4`)
	b.do("come back", chromedp.Navigate(srv.URL+"/"+hash))
	want = browserJSON([]string{m1, m2, m3, m4})
	b.wait("thread after coming back", `document.body.dataset.conn === "online" && document.getElementById("thread-title").textContent === `+browserJSString(nameA))
	b.wait("all messages once", browserThreadTexts+` === `+browserJSString(want))
	time.Sleep(300 * time.Millisecond) // let any duplicate push land
	if got := browserEval[string](b, browserThreadTexts); got != want {
		t.Fatalf("B's thread after coming back = %s, want %s", got, want)
	}
	a.wait("m4 read", `[...document.querySelectorAll("#msg-list li.mine")].every(li => li.dataset.status === "read")`)

	// A turns notifications on (the permission is asked on that click)
	// and switches to another tab. B answers from the phone: A gets a
	// notification with B's name and the text, the title counts it and
	// the divider marks it; back on the tab, A reads it.
	a.do("turn notifications on", chromedp.Click(chromedp.ID("notify-btn")))
	a.wait("notifications on", `document.getElementById("notify-btn").getAttribute("aria-pressed") === "true" && window.__tidingsTest.asked === 1`)
	a.setHidden(true)
	m5 := "Plain text, as it should be. Back online now — all four arrived once."
	b.do("reply", chromedp.Focus(chromedp.ID("compose-text")), chromedp.KeyEvent(m5), pressEnter(false))
	a.wait("reply live", browserThreadTexts+` === `+browserJSString(browserJSON([]string{m1, m2, m3, m4, m5})))
	a.wait("notification of the reply", `window.__tidingsTest.notes.length > 0`)
	type note struct{ Title, Body, Tag string }
	wantNote := []note{{Title: nameB, Body: m5, Tag: "tidings-" + browserEval[string](a, `location.hash.slice(4)`)}}
	if got := browserEval[[]note](a, `window.__tidingsTest.notes`); !reflect.DeepEqual(got, wantNote) {
		t.Errorf("A's notifications = %+v, want %+v", got, wantNote)
	}
	a.wait("hidden tab counts the reply", `document.title === "(1) tidings"`)
	if got := browserEval[string](a, `(d => d && d.textContent + "|" + d.nextElementSibling.querySelector(".text").textContent)(document.getElementById("unread-divider"))`); got != "1 unread message|"+m5 {
		t.Errorf("A's unread divider = %q, want it above the reply", got)
	}
	a.setHidden(false)
	b.wait("reply read", `document.querySelector("#msg-list li.mine").dataset.status === "read"`)
	a.wait("title clear once read", `document.title === "tidings"`)

	// A message from a third user (REST) appears in A's list, newest first,
	// with an unread badge and in the title; no notification: A's tab is visible.
	carol := "carol-" + randomSuffix(5)
	carolTok, _ := browserRegister(t, srv.URL, carol)
	browserSendREST(t, srv.URL, carolTok, "", nameA, "Lunch tomorrow at noon?")
	a.wait("carol first with a badge", `(() => { const c = document.querySelector("#conv-list .conv");
		return c && c.querySelector(".conv-name").textContent === `+browserJSString(carol)+` && (c.querySelector(".badge") || {}).textContent === "1" })()`)
	a.wait("title counts carol", `document.title === "(1) tidings"`)
	if n := browserEval[int](a, `window.__tidingsTest.notes.length`); n != 1 {
		t.Errorf("A got %d notifications, want 1 (none for own messages or while the tab is visible)", n)
	}

	for _, tab := range []*browserTab{a, b} {
		if p := tab.problems(); len(p) > 0 {
			t.Errorf("%s: page errors:\n%s", tab.name, strings.Join(p, "\n"))
		}
	}
	if dir := os.Getenv("TIDINGS_WEB_SCREENSHOTS"); dir != "" {
		a.do("clear focus", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); document.getElementById("token-panel").hidden = true`))
		b.do("clear focus", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); document.getElementById("token-panel").hidden = true`))
		for _, s := range []struct {
			tab  *browserTab
			file string
		}{{a, "web-client.png"}, {b, "web-client-phone.png"}} {
			png, err := chromedp.Run(s.tab.ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			if err := os.WriteFile(filepath.Join(dir, s.file), png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", filepath.Join(dir, s.file))
		}
	}
	// Dark theme: the page follows the system setting.
	a.emulateMedia(&emulation.MediaFeature{Name: "prefers-color-scheme", Value: "dark"})
	a.wait("dark theme", `matchMedia("(prefers-color-scheme: dark)").matches && getComputedStyle(document.documentElement).backgroundColor === "rgb(15, 20, 27)"`)
	if dir := os.Getenv("TIDINGS_WEB_SCREENSHOTS"); dir != "" {
		png, err := chromedp.Run(a.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "web-client-dark.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", filepath.Join(dir, "web-client-dark.png"))
	}
	a.emulateMedia()
	// A signs out: the token is revoked on the server (DELETE
	// /sessions/current) and forgotten by the browser.
	tokA := browserEval[string](a, `localStorage.getItem("tidings.token") || ""`)
	a.do("sign out", chromedp.Click(chromedp.ID("signout-btn")))
	a.wait("signed out", `!document.getElementById("auth").hidden && document.getElementById("app").hidden && localStorage.getItem("tidings.token") === null`)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+tokA)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /me with the signed-out token: %s, want 401", describe(res, err))
	} else {
		_ = res.Body.Close()
	}
	if p := a.problems(); len(p) > 0 {
		t.Errorf("%s: page errors after signing out:\n%s", a.name, strings.Join(p, "\n"))
	}
	t.Logf("browser scenario took %v", time.Since(began).Round(time.Millisecond))
}
