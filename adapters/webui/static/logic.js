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

  // Windows of docs/api.md: an edit within 15 minutes of the send, a
  // delete for everyone within 48 hours. The server decides; these only
  // say which actions to offer (a clock a little off gets the server's 409).
  const EDIT_WINDOW_MS = 15 * 60 * 1000;
  const DELETE_WINDOW_MS = 48 * 3600 * 1000;

  function sentAgo(m, now) {
    const t = Date.parse(m.sent_at || "");
    return Number.isFinite(t) ? now - t : Infinity;
  }

  // canEdit: the user may edit m (their own, not deleted or erased, sent
  // less than 15 minutes before now, in ms).
  function canEdit(m, me, now) {
    return !!m && m.from === me && !m.deleted && !m.erased && sentAgo(m, now) < EDIT_WINDOW_MS;
  }

  // canDeleteForEveryone: their own, not deleted yet, within 48 hours.
  function canDeleteForEveryone(m, me, now) {
    return !!m && m.from === me && !m.deleted && sentAgo(m, now) < DELETE_WINDOW_MS;
  }

  // applyReaction is the reactions of a message (sender is its sender)
  // after `by` set emoji (version: of the text it answers) or removed it
  // (emoji ""): one per party, the sender's first, as the server lists them.
  function applyReaction(reactions, sender, by, emoji, version) {
    const out = (reactions || []).filter((r) => r.by !== by);
    if (emoji) out.push({ by, emoji, version: version || 1 });
    out.sort((a, b) => (a.by === sender ? 0 : 1) - (b.by === sender ? 0 : 1));
    return out;
  }

  // reactionView says how each reaction shows on a message whose text is
  // at msgVersion: stale when it answered an earlier version (an edit never
  // makes an old reaction endorse the new text), mine for the user's own.
  function reactionView(reactions, msgVersion, me) {
    return (reactions || []).map((r) => ({
      emoji: r.emoji,
      mine: r.by === me,
      stale: (r.version || 1) < (msgVersion || 1),
    }));
  }

  // quoteOf says what the quote of a reply shows. replyTo is the reply's
  // reply_to ({id, version} and, from REST, text, deleted or unavailable);
  // orig is the quoted message when loaded here, else null. kind is
  // "text" (with text), "deleted", "unavailable", or "load" when the
  // version answered must be fetched (GET /messages/{id}/versions).
  function quoteOf(replyTo, orig) {
    if (!replyTo) return null;
    if (replyTo.deleted || (orig && orig.deleted)) return { kind: "deleted" };
    if (replyTo.unavailable) return { kind: "unavailable" };
    if (typeof replyTo.text === "string") return { kind: "text", text: replyTo.text };
    if (orig && !orig.erased && (orig.version || 1) === (replyTo.version || 1)) return { kind: "text", text: orig.text };
    return { kind: "load" };
  }

  // typingStep is the typing frames' rhythm of docs/websocket.md: "start"
  // when the user types into a non-blank box and again at most every 3 s
  // while they keep typing, "stop" when the box is cleared, sent or left.
  // state: {typing, last} (last start, ms); ev: {kind: "input" | "blur" |
  // "send", text, now}. Returns {send: "start" | "stop" | null, state}.
  const TYPING_REPEAT_MS = 3000;
  function typingStep(state, ev) {
    const st = { typing: !!(state && state.typing), last: (state && state.last) || 0 };
    const blank = !String(ev.text || "").trim();
    if (ev.kind === "input" && !blank) {
      if (st.typing && ev.now - st.last < TYPING_REPEAT_MS) return { send: null, state: st };
      return { send: "start", state: { typing: true, last: ev.now } };
    }
    if (st.typing) return { send: "stop", state: { typing: false, last: 0 } };
    return { send: null, state: st };
  }

  // presenceLabel is the thread header's subtitle for a presence
  // ({online, last_seen}): "online", "last seen today at 11:10 PM",
  // "last seen yesterday at …", "last seen Dec 1 at …", or "" when
  // unknown or hidden (last_seen null).
  function presenceLabel(p, now, locale) {
    if (!p) return "";
    if (p.online) return "online";
    if (!p.last_seen) return "";
    const at = new Date(p.last_seen);
    if (isNaN(at)) return "";
    const time = at.toLocaleTimeString(locale || [], { hour: "numeric", minute: "2-digit" });
    const days = calendarDaysBefore(at, now);
    if (days <= 0) return "last seen today at " + time;
    if (days === 1) return "last seen yesterday at " + time;
    const opts = { month: "short", day: "numeric" };
    if (at.getFullYear() !== now.getFullYear()) opts.year = "numeric";
    return "last seen " + at.toLocaleDateString(locale || [], opts) + " at " + time;
  }

  const api = {
    dayKey, dayLabel, calendarDaysBefore, linkify, unreadTotal, unreadTitle,
    tickState, unreadDivider, unreadLabel, preview, notificationFor,
    canEdit, canDeleteForEveryone, applyReaction, reactionView, quoteOf, typingStep, presenceLabel,
  };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.TidingsLogic = Object.freeze(api);
})(typeof self !== "undefined" ? self : this);
