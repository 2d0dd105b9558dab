// tidings web client: the pure logic (no DOM, no state, no network), so
// it can be table-tested under Node.js (adapters/webui/logic_test.go).
// index.html loads it before app.js as window.TidingsLogic; Node loads it
// with require(). Every function here is deterministic for its arguments
// and the process's time zone.
"use strict";

(function (root) {
  const DAY_MS = 86400000;

  // startOfDay is local midnight of the day d falls on.
  function startOfDay(d) {
    return new Date(d.getFullYear(), d.getMonth(), d.getDate());
  }

  // dayKey names the local calendar day of d ("2026-12-07"): two times
  // with the same key are on the same day in the user's time zone.
  function dayKey(d) {
    const p = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate());
  }

  // calendarDaysBefore is how many local calendar days lie between the
  // day of when and the day of now (0: same day, 1: the day before,
  // negative: when is on a later day). Rounding absorbs the 23- and
  // 25-hour days of daylight saving changes.
  function calendarDaysBefore(when, now) {
    return Math.round((startOfDay(now) - startOfDay(when)) / DAY_MS);
  }

  // dayLabel is the text of a day separator in a thread, in the user's
  // local time zone: "Today", "Yesterday", the weekday for the five days
  // before that ("Monday"), else the date ("3 March" or "March 3" by
  // locale), with the year when it is not this year's. A time on a later
  // day than now (a skewed clock) gets its date.
  function dayLabel(when, now, locale) {
    const diff = calendarDaysBefore(when, now);
    if (diff === 0) return "Today";
    if (diff === 1) return "Yesterday";
    if (diff > 1 && diff < 7) return when.toLocaleDateString(locale, { weekday: "long" });
    const opts = { day: "numeric", month: "long" };
    if (when.getFullYear() !== now.getFullYear()) opts.year = "numeric";
    return when.toLocaleDateString(locale, opts);
  }

  // A link candidate: http:// or https:// at a word boundary, up to
  // white space or a character that never belongs to a URL (< > " and
  // control characters). Nothing else becomes a link: no javascript:,
  // data:, file: or schemeless "www." text.
  const URL_RE = /\bhttps?:\/\/[^\s<>"\u0000-\u001f\u007f]+/gi;
  const TRAILING = /[.,;:!?'*_~]$/;
  const CLOSERS = { ")": "(", "]": "[", "}": "{" };

  // trimURL drops punctuation that ends a sentence rather than the URL:
  // "see https://a.example/x." links https://a.example/x; a closing
  // bracket stays only when the URL opened it (Wikipedia's "Go_(game)").
  function trimURL(s) {
    for (;;) {
      const last = s.slice(-1);
      if (TRAILING.test(last)) {
        s = s.slice(0, -1);
      } else if (CLOSERS[last]) {
        const open = s.split(CLOSERS[last]).length - 1;
        const close = s.split(last).length - 1;
        if (close <= open) return s;
        s = s.slice(0, -1);
      } else {
        return s;
      }
    }
  }

  // linkify splits text into segments: {text} for plain text and
  // {text, href} for an http(s) link, in order; joined, the texts are the
  // input exactly. href is the URL as the URL parser normalizes it, and is
  // always http: or https: with a host. The caller builds the nodes with
  // textContent and an <a> per link (never HTML).
  function linkify(text) {
    const out = [];
    const push = (seg) => {
      const prev = out[out.length - 1];
      if (!seg.href && prev && !prev.href) prev.text += seg.text;
      else if (seg.text) out.push(seg);
    };
    let at = 0;
    for (const m of String(text).matchAll(URL_RE)) {
      const raw = trimURL(m[0]);
      let href = null;
      try {
        const u = new URL(raw);
        if ((u.protocol === "http:" || u.protocol === "https:") && u.hostname) href = u.href;
      } catch (e) {
        href = null;
      }
      if (!href) continue;
      push({ text: text.slice(at, m.index) });
      push({ text: raw, href });
      at = m.index + raw.length;
    }
    push({ text: String(text).slice(at) });
    return out;
  }

  // unreadTotal is the number for the tab title: every conversation's
  // unread count, where the open conversation counts openUnread (its
  // received messages not read yet) instead of its list count.
  function unreadTotal(convs, open, openUnread) {
    let n = 0;
    for (const c of convs) n += c.peer === open ? openUnread : Math.max(0, c.unread | 0);
    return n;
  }

  // unreadTitle is the tab title: "(3) tidings", or the bare name when
  // nothing is unread.
  function unreadTitle(total, base) {
    base = base || "tidings";
    if (!(total > 0)) return base;
    return "(" + (total > 999 ? "999+" : total) + ") " + base;
  }

  // tickState says how a status of an own message shows: how many ticks
  // (0 when a glyph stands in), their tone (muted grey, read colour,
  // danger) and the label for screen readers and the tooltip, which tells
  // the states apart without colour. An unknown status shows as sent.
  const TICK_STATES = {
    pending: { ticks: 0, glyph: "🕓", tone: "muted", label: "Sending" },
    sent: { ticks: 1, glyph: "", tone: "muted", label: "Sent" },
    delivered: { ticks: 2, glyph: "", tone: "muted", label: "Delivered" },
    read: { ticks: 2, glyph: "", tone: "read", label: "Read" },
    failed: { ticks: 0, glyph: "!", tone: "danger", label: "Not sent" },
  };
  function tickState(status) {
    return Object.assign({ status: TICK_STATES[status] ? status : "sent" }, TICK_STATES[status] || TICK_STATES.sent);
  }

  // unreadDivider finds where the "N unread messages" divider goes when a
  // thread opens: above the oldest received message that is not read
  // (msgs oldest first: {id, from, status}). count is the number of
  // received unread messages from there on, or known (the conversation's
  // unread count from the server) when that is larger: older unread
  // messages may not be loaded yet. null when nothing is unread.
  function unreadDivider(msgs, me, known) {
    let id = null;
    let count = 0;
    for (const m of msgs) {
      if (m.from === me || m.status === "read") continue;
      if (id === null) id = m.id;
      count++;
    }
    if (id === null) return null;
    return { id, count: Math.max(count, known | 0) };
  }

  function unreadLabel(n) {
    return n === 1 ? "1 unread message" : n + " unread messages";
  }

  // preview is at most max code points of text on one line, with "…"
  // when cut (at the end of a word when one ends near the limit): what a
  // notification may show of a message.
  function preview(text, max) {
    const flat = String(text).replace(/\s+/g, " ").trim();
    const cps = [...flat];
    if (cps.length <= max) return flat;
    let cut = cps.slice(0, max - 1).join("");
    const space = cut.lastIndexOf(" ");
    if (space > cut.length - 16 && space > 0) cut = cut.slice(0, space); // end at a word
    return cut.trimEnd() + "…";
  }

  const NOTIFY_PREVIEW = 80;

  // notificationFor decides whether a pushed message m raises a desktop
  // notification and what it says. ctx: me (own id), open (peer of the
  // open thread), hidden (the tab is hidden), enabled (the user turned
  // notifications on), permission (Notification.permission), live (a new
  // message, not a backlog replay or a repeat), name (sender's name).
  // Only received, unread, live messages notify, only while the tab is
  // hidden (so never for the open thread on screen), and only with the
  // user's consent. The body is a short one-line preview.
  function notificationFor(m, ctx) {
    if (!ctx.enabled || ctx.permission !== "granted" || !ctx.hidden || !ctx.live) return null;
    if (!m || m.from === ctx.me || m.to !== ctx.me || m.status === "read") return null;
    return {
      title: ctx.name || "New message",
      body: preview(m.text || "", NOTIFY_PREVIEW),
      tag: "tidings-" + m.from,
    };
  }

  const api = {
    dayKey, dayLabel, calendarDaysBefore, linkify, unreadTotal, unreadTitle,
    tickState, unreadDivider, unreadLabel, preview, notificationFor,
  };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.TidingsLogic = Object.freeze(api);
})(typeof self !== "undefined" ? self : this);
