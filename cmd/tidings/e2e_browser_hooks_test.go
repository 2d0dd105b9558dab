package main

// Browser-test hooks for what headless Chromium cannot do by itself: show
// desktop notifications and hide a tab. See TestBrowserChat.

import (
	"context"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// browserPageHooks runs in every document of a tab before the page's own
// scripts. It stands in for the Notification API (permission "default"
// until requestPermission, which counts its calls; every notification is
// recorded in __tidingsTest.notes) and lets the test hide the tab: the
// Page Visibility API answers from __tidingsTest.hidden.
const browserPageHooks = `(() => {
  const T = { notes: [], asked: 0, hidden: false, permission: "default" };
  class TestNotification {
    constructor(title, opts) {
      opts = opts || {};
      T.notes.push({ title: String(title), body: String(opts.body || ""), tag: String(opts.tag || "") });
      this.onclick = null;
    }
    close() {}
    static get permission() { return T.permission; }
    static requestPermission() { T.asked++; T.permission = "granted"; return Promise.resolve("granted"); }
  }
  Object.defineProperty(window, "Notification", { value: TestNotification, configurable: true, writable: true });
  Object.defineProperty(Document.prototype, "visibilityState", { configurable: true, get() { return T.hidden ? "hidden" : "visible"; } });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get() { return T.hidden; } });
  window.__tidingsTest = T;
})();`

// installPageHooks makes every later document of the tab run browserPageHooks.
func (b *browserTab) installPageHooks() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: browserPageHooks}); err != nil {
		b.t.Fatalf("%s: add page hooks: %v", b.name, err)
	}
}

// setHidden hides (or shows) the tab as the Page Visibility API reports
// it, with the visibilitychange event a real tab switch fires.
func (b *browserTab) setHidden(hidden bool) {
	b.t.Helper()
	js := `window.__tidingsTest.hidden = false; document.dispatchEvent(new Event("visibilitychange"))`
	if hidden {
		js = `window.__tidingsTest.hidden = true; document.dispatchEvent(new Event("visibilitychange"))`
	}
	b.do("set hidden", chromedp.Evaluate[chromedp.Void](js))
}

// emulateMedia emulates CSS media features, e.g. prefers-color-scheme:
// dark; each call replaces the last one's, and none restores the defaults.
func (b *browserTab) emulateMedia(features ...*emulation.MediaFeature) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features}); err != nil {
		b.t.Fatalf("%s: emulate media features %v: %v", b.name, features, err)
	}
}

// browserThreadLinks is an expression: the links of the open thread as
// [href, target, rel, text].
const browserThreadLinks = `JSON.stringify([...document.querySelectorAll("#msg-list a")].map(a =>
	[a.getAttribute("href"), a.getAttribute("target"), a.getAttribute("rel"), a.textContent]))`
