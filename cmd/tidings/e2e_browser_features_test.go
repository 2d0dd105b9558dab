package main

// The web client's issue-12 features in a real browser (see
// e2e_browser_test.go for the harness): edit, delete for everyone, reply
// with its quote, a reaction gone stale after an edit, the typing
// indicator, presence online → last seen, hiding last seen, an own send
// from another device, and deleting the account.
//
//	go test -count=1 -run BrowserFeatures ./cmd/tidings/
//
// TIDINGS_WEB_SCREENSHOTS=docs/img also writes web-client-features.png
// (edited, reply, stale reaction, tombstone), web-client-typing.png (the
// peer typing, online) and web-client-settings.png (the settings panel).

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserMsg is an expression: the <li> of the open thread's message whose
// text is text (a JavaScript string literal).
func browserMsg(text string) string {
	return `[...document.querySelectorAll("#msg-list li.msg")].find(li => li.querySelector(".text").textContent === ` + browserJSString(text) + `)`
}

// browserSignUp signs up through the UI, with a password when one is given.
func browserSignUp(tab *browserTab, url, name, password string) {
	tab.t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("signup-name")),
		chromedp.SendKeys(chromedp.ID("signup-name"), name),
	}
	if password != "" {
		steps = append(steps, chromedp.SendKeys(chromedp.ID("signup-password"), password))
	}
	steps = append(steps, chromedp.Click(chromedp.ID("signup-btn")))
	tab.do("sign up", steps...)
	tab.wait("signed in as "+name, `document.getElementById("me-name").textContent === `+browserJSString(name))
	tab.wait("socket ready", `document.body.dataset.conn === "online"`)
	tab.do("hide the token", chromedp.Evaluate[chromedp.Void](`document.getElementById("token-close").click()`))
}

// click clicks the element of a JavaScript expression (actions only show
// on hover or focus, so a pointer click would need a hover first).
func (b *browserTab) click(what, expr string) {
	b.t.Helper()
	b.wait(what+" is there", `!!(`+expr+`)`)
	b.do(what, chromedp.Evaluate[chromedp.Void](`(`+expr+`).click()`))
}

// typeAndSend types text into the compose box and presses Enter.
func (b *browserTab) typeAndSend(text string) {
	b.t.Helper()
	b.do("send "+text, chromedp.Focus(chromedp.ID("compose-text")), chromedp.KeyEvent(text), pressEnter(false))
}

func (b *browserTab) screenshot(dir, file string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("wrote %s", filepath.Join(dir, file))
}

func TestBrowserFeatures(t *testing.T) {
	requireBrowser(t)
	began := time.Now()
	inst := newInstance(t)
	srv := inst.start(t, serverOptions{})
	shots := os.Getenv("TIDINGS_WEB_SCREENSHOTS")

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	nameA, nameB := "ana-"+randomSuffix(5), "ben-"+randomSuffix(5)
	const passB = "ben's long password"
	var a, b *browserTab
	var wg sync.WaitGroup
	wg.Go(func() { a = openBrowser(t, ctx, "A-desktop", 1100, 760, 1, false) })
	wg.Go(func() { b = openBrowser(t, ctx, "B-desktop", 1000, 760, 1, false) })
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}
	browserSignUp(a, srv.URL, nameA, "")
	browserSignUp(b, srv.URL, nameB, passB)

	// A writes first; B opens the conversation. Each sees the other online.
	m1, m1edited := "See you at 5?", "See you at 6?"
	a.do("start conversation", chromedp.SendKeys(chromedp.ID("start-name"), nameB+"\r"))
	a.wait("thread with B", `document.getElementById("thread-title").textContent === `+browserJSString(nameB))
	a.typeAndSend(m1)
	// (Its name loaded: the list is drawn again when it comes.)
	b.wait("conversation from A", `document.querySelector("#conv-list .conv .conv-name")?.textContent === `+browserJSString(nameA))
	b.do("open conversation", chromedp.Click(chromedp.CSS(`#conv-list .conv`)))
	b.wait("m1 shown", `!!(`+browserMsg(m1)+`)`)
	b.wait("A online in B's header", `document.getElementById("thread-presence").textContent === "online"`)
	a.wait("B online in A's header (watched again once the conversation exists)", `document.getElementById("thread-presence").textContent === "online"`)

	// B reacts to m1 (version 1).
	b.click("react", browserMsg(m1)+`.querySelector(".act-react")`)
	b.click("👍", browserMsg(m1)+`.querySelector('.picker button[aria-label="React with 👍"]')`)
	b.wait("B's reaction", `(r => r && r.textContent === "👍" && !r.classList.contains("stale"))(`+browserMsg(m1)+`.querySelector(".reaction"))`)

	// A edits m1: both see the new text marked "edited" (B live, by the
	// edited frame), and B's reaction to the first version shows as stale.
	a.click("edit", browserMsg(m1)+`.querySelector(".act-edit")`)
	a.wait("edit bar", `document.getElementById("compose-context").dataset.kind === "edit" && document.getElementById("compose-text").value === `+browserJSString(m1))
	a.do("clear the box", chromedp.Evaluate[chromedp.Void](`document.getElementById("compose-text").value = ""`))
	a.typeAndSend(m1edited)
	for _, tab := range []*browserTab{a, b} {
		tab.wait("edited text", `(li => li && li.querySelector(".edited") && li.querySelector(".edited").textContent === "edited")(`+browserMsg(m1edited)+`)`)
		tab.wait("stale reaction", `(r => r && r.classList.contains("stale") && r.title === "reacted to an earlier version")(`+browserMsg(m1edited)+`.querySelector(".reaction"))`)
	}
	if n := browserEval[int](a, `document.querySelectorAll("#msg-list li.msg").length`); n != 1 {
		t.Errorf("A's thread has %d messages after the edit, want 1 (an edit sends nothing new)", n)
	}

	// Typing: B types, A sees "typing…"; B sends, it goes.
	b.do("type", chromedp.Focus(chromedp.ID("compose-text")), chromedp.KeyEvent("Yes, "))
	a.wait("B typing", `!document.getElementById("typing").hidden && document.getElementById("typing").textContent === "typing…"`)
	if shots != "" {
		a.screenshot(shots, "web-client-typing.png")
	}
	// B's message replies to the edited m1: B quotes it, and so does A,
	// whose push carries only the id and version of what was answered.
	b.do("clear", chromedp.Evaluate[chromedp.Void](`document.getElementById("compose-text").value = ""`))
	b.click("reply", browserMsg(m1edited)+`.querySelector(".act-reply")`)
	b.wait("reply bar", `document.getElementById("compose-context").dataset.kind === "reply"`)
	reply := "6 works for me"
	b.typeAndSend(reply)
	a.wait("typing gone once B sent", `document.getElementById("typing").hidden`)
	for _, tab := range []*browserTab{a, b} {
		tab.wait("reply with its quote", `(q => q && q.querySelector(".quote-text").textContent === `+browserJSString(m1edited)+`)(`+browserMsg(reply)+`?.querySelector(".quote"))`)
	}
	b.wait("reply bar gone", `document.getElementById("compose-context").hidden`)
	a.do("scroll away", chromedp.Evaluate[chromedp.Void](`document.getElementById("messages").scrollTop = 0`))
	a.click("the quote", browserMsg(reply)+`.querySelector(".quote")`)
	a.wait("original highlighted", browserMsg(m1edited)+`.classList.contains("flash") && document.activeElement === `+browserMsg(m1edited))

	// A deletes a message for everyone: a tombstone on both sides.
	oops := "Oops, wrong chat"
	a.typeAndSend(oops)
	b.wait("oops arrived", `!!(`+browserMsg(oops)+`)`)
	a.click("delete", browserMsg(oops)+`.querySelector(".act-delete")`)
	a.click("delete for everyone", browserMsg(oops)+`.querySelector(".del-all")`)
	for _, tab := range []*browserTab{a, b} {
		tab.wait("tombstone", `!`+browserMsg(oops)+` && `+browserMsg("This message was deleted")+`?.classList.contains("deleted")`)
	}

	// A sends from another device (REST with A's token): it shows in A's
	// thread as A's own, once.
	tokA := browserEval[string](a, `localStorage.getItem("tidings.token")`)
	idB := browserEval[string](a, `location.hash.slice(4)`)
	fromPhone := "Sent from my other device"
	browserSendREST(t, srv.URL, tokA, idB, "", fromPhone)
	a.wait("own send from another device", `(li => li && li.classList.contains("mine") && !!li.dataset.id)(`+browserMsg(fromPhone)+`)`)
	b.wait("and B got it", `!!(`+browserMsg(fromPhone)+`)`)
	if shots != "" {
		// The actions show on hover or focus: focus the first message's.
		a.do("focus an action", chromedp.Evaluate[chromedp.Void](browserMsg(m1edited)+`.querySelector(".act-react").focus()`))
		a.screenshot(shots, "web-client-features.png")
	}

	// A read on another device (POST /conversations/{peer}/read): the
	// read_up_to frame clears the badge here.
	const listFetches = `performance.getEntriesByType("resource").filter(e => e.name.includes("/conversations?")).length`
	fetches := browserEval[int](a, listFetches)
	a.do("back to the list", chromedp.Evaluate[chromedp.Void](`location.hash = "#/"`))
	a.wait("thread closed", `document.getElementById("thread").hidden`)
	// Closing a thread refetches the list; wait for it, so that only the
	// read_up_to frame can clear the badge below.
	a.wait("list refetched", fmt.Sprintf(`%s > %d && (performance.getEntriesByType("resource").filter(e => e.name.includes("/conversations?")).pop().responseEnd > 0)`, listFetches, fetches))
	// The list shows who is typing; clearing the box stops it.
	b.do("type again", chromedp.Focus(chromedp.ID("compose-text")), chromedp.KeyEvent("hm"))
	a.wait("typing in A's list", `document.querySelector("#conv-list .conv .conv-preview")?.textContent === "typing…"`)
	cleared := time.Now()
	b.do("clear the box", chromedp.Evaluate[chromedp.Void](`(ta => { ta.value = ""; ta.dispatchEvent(new Event("input")) })(document.getElementById("compose-text"))`))
	a.wait("typing stopped in A's list", `document.querySelector("#conv-list .conv .conv-preview")?.textContent === "You: "+`+browserJSString(fromPhone))
	if d := time.Since(cleared); d > 4*time.Second {
		t.Errorf("typing went from A's list %v after B cleared the box: by its 6 s expiry, not a stop frame", d)
	}
	tokB := browserEval[string](b, `localStorage.getItem("tidings.token")`)
	var ping struct{ ID string }
	browserPostJSON(t, srv.URL+"/messages", tokB, map[string]string{"to": browserEval[string](b, `location.hash.slice(4)`), "text": "ping"}, &ping)
	a.wait("unread badge", `document.querySelector("#conv-list .conv .badge")?.textContent === "1" && document.title === "(1) tidings"`)
	browserPostJSON(t, srv.URL+"/conversations/"+idB+"/read", tokA, map[string]string{"up_to": ping.ID}, nil)
	a.wait("badge cleared by the read on the other device", `!document.querySelector("#conv-list .conv .badge") && document.title === "tidings"`)
	// B sent "ping" over REST: its page shows it (a sent frame); B deletes
	// it for itself only: gone from B's thread.
	b.wait("ping on B's page", `!!(`+browserMsg("ping")+`)`)
	b.click("delete", browserMsg("ping")+`.querySelector(".act-delete")`)
	b.wait("only for me", `(d => !d.hidden && d.querySelector(".del-all") && !d.querySelector(".del-me").hidden)(`+browserMsg("ping")+`.querySelector(".delete-menu"))`)
	b.click("delete for me", browserMsg("ping")+`.querySelector(".del-me")`)
	b.wait("ping gone for B", `!`+browserMsg("ping"))
	a.do("open the thread again", chromedp.Evaluate[chromedp.Void](`location.hash = "#/c/" + `+browserJSString(idB)))
	a.wait("B online", `document.getElementById("thread-presence").textContent === "online"`)
	a.wait("A still has ping (deleted for B only)", `!!(`+browserMsg("ping")+`)`)

	// B leaves: A sees "last seen today at …". A hides last seen (both
	// ways): A's header no longer shows B's; B comes back: "online".
	hashB := browserEval[string](b, `location.hash`)
	b.do("leave", chromedp.Navigate("about:blank"))
	a.wait("B last seen", `document.getElementById("thread-presence").textContent.startsWith("last seen today at ")`)
	a.do("open settings", chromedp.Click(chromedp.ID("settings-btn")))
	a.wait("settings loaded", `!document.getElementById("settings-panel").hidden && !document.getElementById("hide-last-seen").disabled && !document.getElementById("hide-last-seen").checked`)
	a.do("hide last seen", chromedp.Click(chromedp.ID("hide-last-seen")))
	a.wait("saved", `!document.getElementById("hide-last-seen").disabled && document.getElementById("hide-last-seen").checked && !document.getElementById("settings-saved").hidden`)
	a.wait("B's last seen hidden from A too", `document.getElementById("thread-presence").textContent === ""`)
	if shots != "" {
		a.screenshot(shots, "web-client-settings.png")
	}
	if got := browserGetJSON[map[string]bool](t, srv.URL+"/me/settings", tokA); !got["hide_last_seen"] {
		t.Errorf("GET /me/settings after the toggle = %v, want hide_last_seen", got)
	}
	a.do("close settings", chromedp.Click(chromedp.ID("settings-close")))
	b.do("come back", chromedp.Navigate(srv.URL+"/"+hashB))
	a.wait("B online again", `document.getElementById("thread-presence").textContent === "online"`)

	// B deletes the account: a wrong password deletes nothing; the right
	// one signs B out, and B's messages read as erased for A.
	b.wait("B back", `document.body.dataset.conn === "online"`)
	b.do("open settings", chromedp.Click(chromedp.ID("settings-btn")))
	b.wait("warning shown", `!document.getElementById("settings-panel").hidden && document.getElementById("delete-warning").textContent.includes("cannot be undone")`)
	b.do("wrong password", chromedp.SendKeys(chromedp.ID("delete-password"), "not my password"),
		chromedp.Click(chromedp.ID("delete-confirm")), chromedp.Click(chromedp.ID("delete-btn")))
	b.wait("refused", `document.getElementById("delete-error").textContent === "Wrong password: nothing was deleted." && !document.getElementById("app").hidden`)
	b.do("right password", chromedp.Evaluate[chromedp.Void](`document.getElementById("delete-password").value = ""`),
		chromedp.SendKeys(chromedp.ID("delete-password"), passB), chromedp.Click(chromedp.ID("delete-btn")))
	b.wait("signed out", `!document.getElementById("auth").hidden && localStorage.getItem("tidings.token") === null && document.getElementById("auth-error").textContent.startsWith("Your account was deleted")`)
	a.do("reload", chromedp.Reload())
	a.wait("B's reply erased", `!!`+browserMsg("Message erased: its author deleted their account"))
	if got := browserEval[string](a, browserThreadTexts); strings.Contains(got, reply) {
		t.Errorf("A's thread after B deleted the account = %s: B's text is still there", got)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/users/"+idB+"/presence", nil)
	req.Header.Set("Authorization", "Bearer "+tokA)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("presence of the deleted account: %s, want 404", describe(res, err))
	} else {
		_ = res.Body.Close()
	}

	for _, tab := range []*browserTab{a, b} {
		if p := tab.problems(); len(p) > 0 {
			t.Errorf("%s: page errors:\n%s", tab.name, strings.Join(p, "\n"))
		}
	}
	t.Logf("browser features scenario took %v", time.Since(began).Round(time.Millisecond))
}
