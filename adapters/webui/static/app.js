// tidings web client: plain JavaScript, no build step, no dependencies.
// It speaks only the public REST API (docs/api.md) and the WebSocket
// protocol tidings.v1 (docs/websocket.md). Message text and names are only
// ever written with textContent, never as HTML.
"use strict";

(() => {
  const MAX_TEXT = 4096; // Unicode characters (docs/api.md, Limits)
  const PAGE = 30; // history page size
  const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,31}$/;
  const RANK = { pending: 0, sent: 1, delivered: 2, read: 3 };
  const L = window.TidingsLogic; // pure logic, static/logic.js
  const SVG_NS = "http://www.w3.org/2000/svg";
  const BACKOFF_MIN = 500; // ms, first reconnect delay
  const BACKOFF_MAX = 20000;
  const TOO_MANY_CONNS_DELAY = 30000; // close code 4029: wait at least 30 s

  const KEY_TOKEN = "tidings.token";
  const keyCursor = (id) => "tidings.cursor." + id;
  const keyOutbox = (id) => "tidings.outbox." + id;
  const keyNotify = (id) => "tidings.notify." + id; // "1": the user turned notifications on

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- state

  const S = {
    token: null,
    me: null, // {id, name}
    convs: new Map(), // peer id -> {peer, last: message|null, unread: number}
    names: new Map(), // user id -> name
    nameLoads: new Map(), // user id -> Promise
    open: null, // peer id of the open thread
    threadGen: 0, // bumps when another thread opens; stale fetches drop out
    thread: new Map(), // message id -> message (open thread)
    msgEls: new Map(), // message id -> <li>
    pendingEls: new Map(), // client_msg_id -> <li> (not yet sent)
    older: null, // the history's next page (Link header), or null
    loadingOlder: false,
    status: new Map(), // message id -> best status seen in receipts
    seen: new Set(), // ids of received messages processed (de-duplication)
    acked: new Set(), // ids acked as delivered by this page
    readSent: new Set(), // ids this page marked read
    visible: new Set(), // ids of unread received messages on screen
    outbox: [], // [{cmid, to, text, state: "queued"|"inflight"|"failed"|"wait", error, retryAt}]
    positions: new Map(), // partition -> offset of our own latest writes
    ws: null,
    wsReady: false,
    backlog: true, // until "ready": the backlog of a (re)connection
    attempt: 0,
    reconnectAt: 0,
    reconnectTimer: null,
    bannerTimer: null,
    refSeq: 0,
    pendingAcks: new Map(), // ref -> handler(frame)
    refreshing: false,
    refreshAgain: false,
    refreshTimer: null,
    liveDuringRefresh: null,
    retryTimer: null,
    divider: null, // {id, count}: the unread divider of the open thread, or null
    awayDivider: false, // the divider marks what arrived while the tab was hidden
    dayTimer: null,
    titleTimer: null,
  };

  // ---------------------------------------------------------------- REST

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter || 0;
    }
  }

  async function api(method, path, body, opts = {}) {
    const headers = { Accept: "application/json" };
    if (S.token && !opts.noAuth) headers.Authorization = "Bearer " + S.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.consistent && S.positions.size) headers["X-Tidings-Position"] = positionsHeader();
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch (e) {
      throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
    }
    let data = null;
    if (res.status !== 204) {
      try {
        data = await res.json();
      } catch (e) {
        data = null;
      }
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      const ra = parseInt(res.headers.get("Retry-After") || "", 10);
      const e = new ApiError(res.status, err.code || "http_" + res.status, err.message || res.statusText, isNaN(ra) ? 0 : ra);
      if (res.status === 401 && !opts.noAuth && !opts.noSignOut) signOut("Your token is no longer valid. Sign in again.");
      throw e;
    }
    const pos = res.headers.get("X-Tidings-Position");
    if (pos) notePosition(pos);
    return { data, res };
  }

  // nextLink returns the rel="next" target of a Link header, or null.
  function nextLink(res) {
    const h = res.headers.get("Link");
    const m = h && /<([^>]+)>\s*;\s*rel="next"/.exec(h);
    return m ? m[1] : null;
  }

  function notePosition(p) {
    const m = /^(\d+)-(\d+)$/.exec(p || "");
    if (!m) return;
    const off = Number(m[2]);
    if (!(S.positions.get(m[1]) >= off)) S.positions.set(m[1], off);
  }

  function positionsHeader() {
    return [...S.positions].slice(0, 16).map(([p, o]) => p + "-" + o).join(",");
  }

  // ---------------------------------------------------------------- helpers

  const rank = (s) => (s in RANK ? RANK[s] : 0);
  const isMine = (m) => S.me && m.from === S.me.id;
  const peerOf = (m) => (isMine(m) ? m.to : m.from);
  const chars = (s) => [...s].length; // code points, as the server counts
  // orderKey orders messages as the server does, by (sent_at, id): the
  // time as a number (milliseconds, zero-padded to a fixed width), never
  // the time's text, so its format (fractional digits, zone) cannot
  // reorder a thread; "~" (pending sends) sorts after every key.
  const orderKey = (m) => {
    const ms = Date.parse(m.sent_at || "");
    return String(Number.isFinite(ms) ? ms : 0).padStart(15, "0") + "|" + m.id;
  };
  const later = (a, b) => orderKey(a) > orderKey(b);

  function effectiveStatus(m) {
    const s = S.status.get(m.id);
    return s && rank(s) > rank(m.status) ? s : m.status;
  }

  function newClientMsgID() {
    const b = new Uint8Array(9);
    crypto.getRandomValues(b);
    return "w-" + Date.now().toString(36) + "-" + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // setMessageText writes text into p with its http(s) URLs as links
  // (L.linkify): text nodes and <a> elements built with the DOM, never
  // HTML. Links open in a new tab without access to this page
  // (noopener) and without a Referer (noreferrer).
  function setMessageText(p, text) {
    p.replaceChildren(...L.linkify(text).map((seg) => {
      if (!seg.href) return document.createTextNode(seg.text);
      const a = el("a", "link-out", seg.text);
      a.href = seg.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      return a;
    }));
  }

  function fmtTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const now = new Date();
    if (d.toDateString() === now.toDateString()) {
      return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    return d.toLocaleDateString([], { month: "short", day: "numeric" });
  }

  function fmtFull(iso) {
    return iso ? new Date(iso).toLocaleString() : "";
  }

  function showError(text, where = "app-error") {
    const p = $(where);
    p.textContent = text;
    p.hidden = !text;
    if (where === "app-error" && text) {
      clearTimeout(showError.timer);
      showError.timer = setTimeout(() => showError(""), 10000);
    }
  }

  function describeError(e) {
    switch (e.code) {
      case "rate_limited":
        return "You are sending too fast." + (e.retryAfter ? " Retrying in " + e.retryAfter + " s." : "");
      case "text_too_long":
        return "The message is too long: the limit is " + MAX_TEXT + " characters.";
      case "empty_text":
        return "The message is empty.";
      case "unknown_recipient":
        return "That user no longer exists.";
      case "network":
        return e.message;
      default:
        return e.message || "Something went wrong (" + e.code + ").";
    }
  }

  // ---------------------------------------------------------------- names

  function nameOf(id) {
    return S.names.get(id) || null;
  }

  function loadName(id) {
    if (!id || S.names.has(id)) return Promise.resolve(S.names.get(id));
    if (S.nameLoads.has(id)) return S.nameLoads.get(id);
    const p = api("GET", "/users/" + encodeURIComponent(id))
      .then(({ data }) => {
        S.names.set(id, data.name);
        renderListSoon();
        if (S.open === id) renderTitle();
        return data.name;
      })
      .catch((e) => {
        if (e.code === "not_found") S.names.set(id, "unknown user");
        return null;
      })
      .finally(() => S.nameLoads.delete(id));
    S.nameLoads.set(id, p);
    return p;
  }

  // ---------------------------------------------------------------- auth

  async function signUp(ev) {
    ev.preventDefault();
    const input = $("signup-name");
    const name = input.value.trim().toLowerCase();
    input.value = name;
    if (!NAME_RE.test(name)) {
      showError("A user name is 1 to 32 of a–z, 0–9, _ . - and starts with a letter or digit.", "auth-error");
      input.focus();
      return;
    }
    const password = $("signup-password").value;
    if (password && [...password].length < 8) {
      showError("A password has at least 8 characters (or leave it empty).", "auth-error");
      $("signup-password").focus();
      return;
    }
    $("signup-btn").disabled = true;
    try {
      const body = password ? { name, password } : { name };
      const { data } = await api("POST", "/users", body, { noAuth: true });
      $("signup-password").value = "";
      S.token = data.token;
      localStorage.setItem(KEY_TOKEN, data.token);
      S.names.set(data.id, data.name);
      input.value = "";
      await start({ showToken: true });
    } catch (e) {
      const msg = {
        name_taken: "The name “" + name + "” is taken. Pick another.",
        registration_closed: "Sign-up is closed on this server: ask an operator for a token and sign in with it.",
        invalid_password: "A password has 8 to 128 characters.",
      }[e.code];
      showError(msg || describeError(e), "auth-error");
      input.focus();
    } finally {
      $("signup-btn").disabled = false;
    }
  }

  async function signIn(ev) {
    ev.preventDefault();
    const token = $("signin-token").value.trim();
    if (!token) {
      showError("Paste your token.", "auth-error");
      return;
    }
    $("signin-btn").disabled = true;
    try {
      S.token = token;
      try {
        await api("GET", "/me", undefined, { noSignOut: true });
      } catch (e) {
        S.token = null;
        throw e;
      }
      localStorage.setItem(KEY_TOKEN, token);
      $("signin-token").value = "";
      await start({});
    } catch (e) {
      showError(e.code === "unauthorized" ? "That token is not valid." : describeError(e), "auth-error");
      showAuth();
    } finally {
      $("signin-btn").disabled = false;
    }
  }

  // logIn signs in with a name and password (POST /sessions): a new token.
  async function logIn(ev) {
    ev.preventDefault();
    const name = $("login-name").value.trim().toLowerCase();
    const password = $("login-password").value;
    if (!name || !password) {
      showError("Enter your user name and password.", "auth-error");
      return;
    }
    $("login-btn").disabled = true;
    try {
      const { data } = await api("POST", "/sessions", { name, password }, { noAuth: true });
      S.token = data.token;
      localStorage.setItem(KEY_TOKEN, data.token);
      $("login-password").value = "";
      await start({});
    } catch (e) {
      showError(e.code === "invalid_credentials" ? "Wrong user name or password." : describeError(e), "auth-error");
      showAuth();
    } finally {
      $("login-btn").disabled = false;
    }
  }

  // signOutEverywhere revokes the token on the server (DELETE
  // /sessions/current: it stops working at once, on every node), then
  // forgets it here. Offline, it is forgotten here all the same.
  async function signOutEverywhere() {
    $("signout-btn").disabled = true;
    const ws = S.ws;
    S.ws = null; // its close (4001 from the server) is expected, not news
    if (ws) ws.close(1000, "signed out");
    try {
      if (S.token) await api("DELETE", "/sessions/current", undefined, { noSignOut: true });
    } catch (e) {
      // Revoked already, or the server is unreachable: forget it anyway.
    } finally {
      $("signout-btn").disabled = false;
    }
    signOut("");
  }

  function signOut(reason) {
    const me = S.me;
    localStorage.removeItem(KEY_TOKEN);
    if (me) {
      localStorage.removeItem(keyCursor(me.id));
      localStorage.removeItem(keyOutbox(me.id));
      localStorage.removeItem(keyNotify(me.id));
    }
    const ws = S.ws;
    S.ws = null;
    if (ws) ws.close(1000, "signed out");
    clearTimeout(S.reconnectTimer);
    clearTimeout(S.retryTimer);
    Object.assign(S, {
      token: null, me: null, open: null, older: null, wsReady: false, attempt: 0,
      outbox: [], convs: new Map(), thread: new Map(), msgEls: new Map(), pendingEls: new Map(),
      status: new Map(), seen: new Set(), acked: new Set(), readSent: new Set(), visible: new Set(),
      positions: new Map(), pendingAcks: new Map(), dropSocket: null, divider: null, awayDivider: false,
    });
    clearTimeout(S.dayTimer);
    updateTitle();
    S.threadGen++;
    $("conv-list").replaceChildren();
    $("msg-list").replaceChildren();
    if (location.hash) history.replaceState(null, "", location.pathname);
    setBanner("");
    showAuth();
    showError(typeof reason === "string" ? reason : "", "auth-error");
  }

  function showAuth() {
    $("app").hidden = true;
    $("auth").hidden = false;
    $("signup-name").focus();
  }

  async function start({ showToken }) {
    const { data: me } = await api("GET", "/me");
    S.me = { id: me.id, name: me.name };
    S.names.set(me.id, me.name);
    $("me-name").textContent = me.name;
    $("token-value").value = S.token;
    $("auth").hidden = true;
    $("app").hidden = false;
    showError("", "auth-error");
    toggleToken(!!showToken);
    renderNotifyBtn();
    try {
      S.outbox = JSON.parse(localStorage.getItem(keyOutbox(me.id)) || "[]").filter((o) => o && o.cmid && o.to);
      for (const o of S.outbox) if (o.state === "inflight" || o.state === "wait") o.state = "queued";
    } catch (e) {
      S.outbox = [];
    }
    await refreshConvs();
    route();
    connect();
    if (!S.open) $("start-name").focus();
  }

  function toggleToken(show) {
    $("token-panel").hidden = !show;
    $("token-btn").setAttribute("aria-expanded", String(show));
    if (show) $("token-value").select();
  }

  // ---------------------------------------------------------------- conversations

  function ensureConv(peer) {
    let c = S.convs.get(peer);
    if (!c) {
      c = { peer, last: null, unread: 0 };
      S.convs.set(peer, c);
    }
    return c;
  }

  function scheduleRefresh(delay = 300) {
    clearTimeout(S.refreshTimer);
    S.refreshTimer = setTimeout(refreshConvs, delay);
  }

  // refreshConvs reloads the conversation list (GET /conversations, every
  // page up to 1000 conversations). Messages pushed while it runs are
  // applied again on the result unless the result already has them.
  async function refreshConvs() {
    if (!S.token) return;
    if (S.refreshing) {
      S.refreshAgain = true;
      return;
    }
    S.refreshing = true;
    const live = (S.liveDuringRefresh = []);
    try {
      const fresh = new Map();
      let path = "/conversations?limit=100";
      for (let i = 0; path && i < 10; i++) {
        const { data, res } = await api("GET", path, undefined, { consistent: true });
        for (const c of data || []) {
          fresh.set(c.peer, { peer: c.peer, last: c.last_message, unread: c.unread_count });
        }
        path = nextLink(res);
      }
      // Keep conversations started here that have no message yet.
      for (const [peer, c] of S.convs) if (!fresh.has(peer) && !c.last) fresh.set(peer, c);
      for (const m of live) {
        const c = fresh.get(m.from) || { peer: m.from, last: null, unread: 0 };
        fresh.set(m.from, c);
        if (!c.last || later(m, c.last)) {
          c.last = m;
          if (S.open !== m.from) c.unread++;
        }
      }
      if (S.open && fresh.has(S.open)) fresh.get(S.open).unread = 0;
      S.convs = fresh;
      for (const peer of fresh.keys()) loadName(peer);
      renderList();
    } catch (e) {
      if (e.status !== 401) showError("Could not load conversations: " + describeError(e));
    } finally {
      S.liveDuringRefresh = null;
      S.refreshing = false;
      if (S.refreshAgain) {
        S.refreshAgain = false;
        scheduleRefresh(0);
      }
    }
  }

  let listTimer = null;
  function renderListSoon() {
    if (listTimer) return;
    listTimer = requestAnimationFrame(() => {
      listTimer = null;
      renderList();
    });
  }

  function renderList() {
    const ul = $("conv-list");
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.peer : null;
    const items = [...S.convs.values()].sort((a, b) => {
      if (!a.last || !b.last) return (a.last ? 1 : 0) - (b.last ? 1 : 0); // new, empty ones first
      const ka = orderKey(a.last), kb = orderKey(b.last);
      return kb < ka ? -1 : kb > ka ? 1 : 0;
    });
    ul.replaceChildren(...items.map(convItem));
    $("conv-empty").hidden = items.length > 0;
    updateTitle();
    if (focused) {
      const b = ul.querySelector('button[data-peer="' + CSS.escape(focused) + '"]');
      if (b) b.focus();
    }
  }

  function convItem(c) {
    const li = el("li");
    const b = el("button", "conv");
    b.type = "button";
    b.dataset.peer = c.peer;
    const name = nameOf(c.peer) || "…";
    if (S.open === c.peer) b.setAttribute("aria-current", "true");
    const avatar = el("span", "avatar", name === "…" ? "?" : name.charAt(0).toUpperCase());
    avatar.setAttribute("aria-hidden", "true");
    const main = el("span", "conv-main");
    main.append(el("span", "conv-name", name));
    let preview = "No messages yet";
    if (c.last) {
      const text = c.last.erased ? "Message erased" : c.last.text;
      const t = text.length > 120 ? text.slice(0, 120) + "…" : text;
      preview = (isMine(c.last) ? "You: " : "") + t;
    }
    main.append(el("span", "conv-preview", preview));
    const side = el("span", "conv-side");
    if (c.last) {
      const t = el("time", "conv-time", fmtTime(c.last.sent_at));
      t.dateTime = c.last.sent_at;
      side.append(t);
    }
    const unread = S.open === c.peer ? 0 : c.unread;
    if (unread > 0) {
      const badge = el("span", "badge", unread > 99 ? "99+" : String(unread));
      badge.setAttribute("aria-hidden", "true");
      side.append(badge);
    }
    b.append(avatar, main, side);
    b.setAttribute("aria-label", name + (unread > 0 ? ", " + unread + " unread" : "") + (c.last ? ", last message: " + preview : ""));
    b.addEventListener("click", () => go(c.peer));
    li.append(b);
    return li;
  }

  async function startConversation(ev) {
    ev.preventDefault();
    const input = $("start-name");
    const name = input.value.trim().toLowerCase();
    showError("", "start-error");
    if (!name) {
      input.focus();
      return;
    }
    if (S.me && name === S.me.name) {
      showError("That is you. Pick someone else.", "start-error");
      return;
    }
    if (!NAME_RE.test(name)) {
      showError("No user is called “" + name + "”.", "start-error");
      return;
    }
    $("start-btn").disabled = true;
    try {
      const { data } = await api("GET", "/users?name=" + encodeURIComponent(name));
      S.names.set(data.id, data.name);
      ensureConv(data.id);
      input.value = "";
      renderList();
      go(data.id);
    } catch (e) {
      showError(e.code === "not_found" ? "No user is called “" + name + "”." : describeError(e), "start-error");
    } finally {
      $("start-btn").disabled = false;
    }
  }

  // ---------------------------------------------------------------- routing

  function go(peer) {
    const h = peer ? "#/c/" + peer : "#/";
    if (location.hash === h) route();
    else location.hash = h;
  }

  function route() {
    if (!S.me) return;
    const m = /^#\/c\/([0-9A-Za-z]{1,40})$/.exec(location.hash);
    if (m && m[1] !== S.me.id) {
      if (S.open !== m[1]) openThread(m[1]);
    } else if (S.open) {
      closeThread();
    }
  }

  // ---------------------------------------------------------------- thread

  const readObserver = new IntersectionObserver(onIntersect, { threshold: 0.6 });

  function renderTitle() {
    $("thread-title").textContent = nameOf(S.open) || "…";
  }

  async function openThread(peer) {
    const gen = ++S.threadGen;
    S.open = peer;
    S.thread = new Map();
    S.msgEls = new Map();
    S.pendingEls = new Map();
    S.visible = new Set();
    S.older = null;
    S.divider = null;
    S.awayDivider = false;
    readObserver.disconnect();
    $("msg-list").replaceChildren();
    $("older-btn").hidden = true;
    $("thread-none").hidden = true;
    $("thread").hidden = false;
    $("app").classList.add("thread-open");
    const c = ensureConv(peer);
    const known = c.unread; // the server's count: unread messages may be older than the first page
    c.unread = 0;
    renderTitle();
    loadName(peer);
    renderList();
    updateCounter();
    $("compose-text").focus();
    try {
      const { data, res } = await api("GET", "/conversations/" + encodeURIComponent(peer) + "/messages?limit=" + PAGE);
      if (gen !== S.threadGen) return;
      for (const m of data || []) upsertThreadMsg(m, false);
      S.older = nextLink(res);
      $("older-btn").hidden = !S.older;
      const msgs = [...S.thread.values()].sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : 1));
      S.divider = L.unreadDivider(msgs.map((m) => ({ id: m.id, from: m.from, status: effectiveStatus(m) })), S.me.id, known);
    } catch (e) {
      if (gen === S.threadGen && e.status !== 401) showError("Could not load messages: " + describeError(e));
    }
    for (const o of S.outbox) if (o.to === peer) renderPending(o);
    decorateThread();
    const divider = $("unread-divider");
    if (divider) {
      // Open at the first unread message, as the peers do.
      const box = $("messages");
      box.scrollTop += divider.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
    } else {
      scrollToBottom();
    }
    updateTitle();
  }

  function closeThread() {
    const peer = S.open;
    S.threadGen++;
    S.open = null;
    readObserver.disconnect();
    S.visible = new Set();
    $("thread").hidden = true;
    $("thread-none").hidden = false;
    $("app").classList.remove("thread-open");
    S.divider = null;
    renderList();
    scheduleRefresh(200); // unread counts after the reads just sent
    const b = peer && $("conv-list").querySelector('button[data-peer="' + CSS.escape(peer) + '"]');
    if (b) b.focus();
  }

  async function loadOlder() {
    if (!S.older || S.loadingOlder) return;
    S.loadingOlder = true;
    const gen = S.threadGen;
    const box = $("messages");
    const btn = $("older-btn");
    btn.disabled = true;
    btn.textContent = "Loading…";
    try {
      const { data, res } = await api("GET", S.older);
      if (gen !== S.threadGen) return;
      const before = box.scrollHeight - box.scrollTop;
      for (const m of data || []) upsertThreadMsg(m, false);
      box.scrollTop = box.scrollHeight - before; // keep the view where it was
      S.older = nextLink(res);
    } catch (e) {
      if (e.status !== 401) showError("Could not load older messages: " + describeError(e));
    } finally {
      S.loadingOlder = false;
      btn.disabled = false;
      btn.textContent = "Load older messages";
      btn.hidden = !S.older;
    }
  }

  function nearBottom() {
    const box = $("messages");
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  function scrollToBottom() {
    const box = $("messages");
    box.scrollTop = box.scrollHeight;
  }

  // insertSorted puts li into the list in time order; pending messages stay
  // at the end.
  function insertSorted(li) {
    const ol = $("msg-list");
    const key = li.dataset.key;
    let after = null;
    for (let n = ol.lastElementChild; n; n = n.previousElementSibling) {
      if (n.dataset.key !== undefined && n.dataset.key <= key) {
        after = n;
        break;
      }
    }
    if (after) after.after(li);
    else ol.prepend(li);
  }

  function msgSkeleton(mine) {
    const li = el("li", "msg " + (mine ? "mine" : "theirs"));
    const bubble = el("div", "bubble");
    const text = el("p", "text");
    const meta = el("div", "meta");
    const time = el("time", "time");
    meta.append(time);
    if (mine) meta.append(el("span", "ticks"));
    bubble.append(text, meta);
    li.append(bubble);
    return li;
  }

  // tickIcon draws one tick or two (SVG, so every font shows them alike).
  function tickIcon(n) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", n === 2 ? "0 0 20 12" : "0 0 14 12");
    svg.setAttribute("class", "tick-icon n" + n);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", n === 2 ? "M1.5 6.5 5 10l7.5-8M9 9.8l.3.2 7.5-8" : "M2 6.5 5.5 10 13 2");
    svg.append(path);
    return svg;
  }

  // setTicks shows the status of an own message (L.tickState): one grey
  // tick sent, two grey delivered, two coloured read, with the state as
  // the tooltip and accessible label, so it reads without colour too.
  function setTicks(li, status) {
    const t = li.querySelector(".ticks");
    if (!t) return;
    const st = L.tickState(status);
    if (t.dataset.state !== st.status) {
      t.replaceChildren(st.ticks ? tickIcon(st.ticks) : st.glyph);
      t.dataset.state = st.status;
      t.dataset.ticks = String(st.ticks);
      t.dataset.tone = st.tone;
      t.title = st.label;
      t.setAttribute("aria-label", st.label);
      t.setAttribute("role", "img");
    }
    li.dataset.status = status;
  }

  // decorateThread puts a day separator before the first message of each
  // local calendar day (L.dayLabel: Today, Yesterday, a weekday, a date)
  // and the unread divider (S.divider) before its message. It runs when a
  // message is added and at local midnight (the labels move on a day). It
  // changes only the separators that differ, so the live region does not
  // announce them again with every message.
  function decorateThread() {
    const ol = $("msg-list");
    const now = new Date();
    let day = null;
    let last = null;
    for (const li of [...ol.children]) {
      if (li.classList.contains("sep")) continue;
      last = li;
      const want = [];
      const at = li.dataset.at ? new Date(li.dataset.at) : now; // pending: now
      const key = L.dayKey(at);
      if (key !== day) {
        day = key;
        want.push(["sep day", L.dayLabel(at, now)]);
      }
      if (S.divider && li.dataset.id === S.divider.id) want.push(["sep unread-divider", L.unreadLabel(S.divider.count)]);
      const have = [];
      for (let n = li.previousElementSibling; n && n.classList.contains("sep"); n = n.previousElementSibling) have.unshift(n);
      const same = have.length === want.length && have.every((n, i) => n.className === want[i][0] && n.textContent === want[i][1]);
      if (same) continue;
      for (const n of have) n.remove();
      for (const [cls, text] of want) {
        const sep = el("li", cls);
        if (cls === "sep unread-divider") sep.id = "unread-divider";
        sep.append(el("span", "", text));
        li.before(sep);
      }
    }
    // Separators after the last message belong to none.
    for (let n = last ? last.nextElementSibling : ol.firstElementChild; n; ) {
      const next = n.nextElementSibling;
      if (n.classList.contains("sep")) n.remove();
      n = next;
    }
    clearTimeout(S.dayTimer);
    const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
    S.dayTimer = setTimeout(() => {
      if (S.open) decorateThread();
    }, midnight - now + 1000);
  }

  // updateTitle shows the unread total in the tab title ("(3) tidings").
  // Timers, not animation frames: it must change while the tab is hidden.
  function updateTitle() {
    let openUnread = 0;
    if (S.open) {
      for (const m of S.thread.values()) {
        if (!isMine(m) && effectiveStatus(m) !== "read" && !S.readSent.has(m.id)) openUnread++;
      }
    }
    const t = L.unreadTitle(L.unreadTotal(S.convs.values(), S.open, openUnread));
    if (document.title !== t) document.title = t;
  }

  function updateTitleSoon() {
    if (S.titleTimer) return;
    S.titleTimer = setTimeout(() => {
      S.titleTimer = null;
      updateTitle();
    }, 0);
  }

  // upsertThreadMsg shows m in the open thread (new or updated).
  function upsertThreadMsg(m, live) {
    if (!S.open || peerOf(m) !== S.open) return;
    const prev = S.thread.get(m.id);
    if (prev && rank(prev.status) > rank(m.status)) m = Object.assign({}, m, { status: prev.status });
    S.thread.set(m.id, m);
    let li = S.msgEls.get(m.id);
    const stick = live && (isMine(m) || nearBottom());
    if (!li) {
      li = (isMine(m) && m.client_msg_id && S.pendingEls.get(m.client_msg_id)) || null;
      if (li) {
        S.pendingEls.delete(m.client_msg_id);
        li.querySelector(".error-line")?.remove();
        li.classList.remove("failed");
      } else {
        li = msgSkeleton(isMine(m));
      }
      li.dataset.id = m.id;
      li.dataset.key = orderKey(m);
      li.dataset.at = m.sent_at || "";
      if (m.erased) {
        const p = li.querySelector(".text");
        p.textContent = "Message erased: its author deleted their account";
        p.classList.add("erased");
      } else {
        setMessageText(li.querySelector(".text"), m.text);
      }
      const t = li.querySelector(".time");
      t.textContent = fmtTime(m.sent_at);
      t.dateTime = m.sent_at;
      t.title = fmtFull(m.sent_at);
      S.msgEls.set(m.id, li);
      li.remove();
      insertSorted(li);
      decorateThread();
    }
    const st = effectiveStatus(m);
    li.dataset.status = st;
    if (isMine(m)) setTicks(li, st);
    else if (st !== "read" && !S.readSent.has(m.id)) readObserver.observe(li);
    else readObserver.unobserve(li);
    if (stick) scrollToBottom();
    updateTitleSoon();
  }

  function renderPending(o) {
    if (S.open !== o.to) return;
    let li = S.pendingEls.get(o.cmid);
    if (!li) {
      li = msgSkeleton(true);
      li.dataset.cmid = o.cmid;
      li.dataset.key = "~" + o.cmid; // after every sent message
      setMessageText(li.querySelector(".text"), o.text);
      S.pendingEls.set(o.cmid, li);
      insertSorted(li);
      decorateThread();
      scrollToBottom();
    }
    li.querySelector(".error-line")?.remove();
    if (o.state === "failed") {
      li.classList.add("failed");
      setTicks(li, "failed");
      const line = el("div", "error-line");
      line.append(el("span", "", (o.error || "Not sent.") + " "));
      const retry = el("button", "link", "Retry");
      retry.type = "button";
      retry.addEventListener("click", () => {
        o.state = "queued";
        o.error = null;
        saveOutbox();
        renderPending(o);
        flushOutbox();
      });
      const drop = el("button", "link", "Discard");
      drop.type = "button";
      drop.addEventListener("click", () => {
        S.outbox = S.outbox.filter((x) => x !== o);
        saveOutbox();
        li.remove();
        S.pendingEls.delete(o.cmid);
        $("compose-text").focus();
      });
      line.append(retry, " ", drop);
      li.querySelector(".bubble").append(line);
    } else {
      li.classList.remove("failed");
      setTicks(li, "pending");
      if (o.state === "wait" && o.error) {
        li.querySelector(".bubble").append(el("div", "error-line", o.error));
      }
    }
  }

  // ---------------------------------------------------------------- reading

  function onIntersect(entries) {
    for (const e of entries) {
      const id = e.target.dataset.id;
      if (!id) continue;
      if (e.isIntersecting) S.visible.add(id);
      else S.visible.delete(id);
    }
    sendReads();
  }

  // sendReads marks read every unread received message on screen while the
  // page is visible: a read frame over the socket, or PATCH without one.
  function sendReads() {
    if (document.visibilityState !== "visible" || !S.open) return;
    for (const id of S.visible) {
      const m = S.thread.get(id);
      if (!m || isMine(m) || S.readSent.has(id) || effectiveStatus(m) === "read") continue;
      S.readSent.add(id);
      S.visible.delete(id);
      const li = S.msgEls.get(id);
      if (li) readObserver.unobserve(li);
      updateTitleSoon();
      if (S.wsReady) {
        sendFrame({ type: "read", id }, (f) => {
          if (f.ok) {
            if (f.position) notePosition(f.position);
            if (f.message) applyStatus(f.message.id, "read");
          } else if (f.error && f.error.code !== "not_found") {
            S.readSent.delete(id);
          }
        });
      } else {
        api("PATCH", "/messages/" + encodeURIComponent(id))
          .then(({ data }) => applyStatus(data.id, "read"))
          .catch(() => {
            S.readSent.delete(id);
            if (li && li.isConnected) readObserver.observe(li);
          });
      }
    }
  }

  // applyStatus records a status of a message and shows it.
  function applyStatus(id, status) {
    const prev = S.status.get(id);
    if (!prev || rank(status) > rank(prev)) S.status.set(id, status);
    const m = S.thread.get(id);
    if (m) upsertThreadMsg(m, false);
    for (const c of S.convs.values()) {
      if (c.last && c.last.id === id && rank(status) > rank(c.last.status)) {
        c.last = Object.assign({}, c.last, { status });
      }
    }
    updateTitleSoon();
  }

  // ---------------------------------------------------------------- sending

  function saveOutbox() {
    if (!S.me) return;
    const keep = S.outbox.map(({ cmid, to, text, state, error }) => ({ cmid, to, text, state, error }));
    if (keep.length) localStorage.setItem(keyOutbox(S.me.id), JSON.stringify(keep));
    else localStorage.removeItem(keyOutbox(S.me.id));
  }

  function submitCompose(ev) {
    if (ev) ev.preventDefault();
    const ta = $("compose-text");
    const text = ta.value;
    if (!S.open) return;
    if (!text.trim()) {
      showError("Type a message first.", "compose-error");
      return;
    }
    if (chars(text) > MAX_TEXT) {
      updateCounter();
      return;
    }
    const o = { cmid: newClientMsgID(), to: S.open, text, state: "queued", error: null };
    S.outbox.push(o);
    saveOutbox();
    ta.value = "";
    updateCounter();
    renderPending(o);
    const c = ensureConv(S.open);
    renderList();
    void c;
    flushOutbox();
    ta.focus();
  }

  // flushOutbox sends every queued message: over the socket when it is up,
  // else with POST /messages. Every retry reuses the message's
  // client_msg_id, so the server never stores it twice.
  function flushOutbox() {
    clearTimeout(S.retryTimer);
    const now = Date.now();
    let next = Infinity;
    for (const o of S.outbox) {
      if (o.state === "wait") {
        if (o.retryAt > now) {
          next = Math.min(next, o.retryAt);
          continue;
        }
        o.state = "queued";
      }
      if (o.state !== "queued") continue;
      if (S.wsReady) sendOverSocket(o);
      else sendOverREST(o);
    }
    if (next < Infinity) S.retryTimer = setTimeout(flushOutbox, next - now + 50);
    updateBanner();
  }

  function sendOverSocket(o) {
    o.state = "inflight";
    sendFrame({ type: "send", to: o.to, text: o.text, client_msg_id: o.cmid }, (f) => {
      if (o.state !== "inflight") return;
      if (f.ok) {
        if (f.position) notePosition(f.position);
        sent(o, f.message);
      } else if (f.error && (f.error.code === "rate_limited" || f.error.code === "internal" || f.error.code === "unavailable")) {
        // Retry over REST, whose answer says when to try again (Retry-After).
        sendOverREST(o);
      } else {
        failed(o, { code: f.error ? f.error.code : "internal", message: f.error ? f.error.message : "" });
      }
    }, () => {
      // The socket closed before the ack: send again (same client_msg_id).
      if (o.state === "inflight") o.state = "queued";
    });
  }

  async function sendOverREST(o) {
    o.state = "inflight";
    try {
      const { data } = await api("POST", "/messages", { to: o.to, text: o.text, client_msg_id: o.cmid });
      if (o.state === "inflight") sent(o, data);
    } catch (e) {
      if (o.state !== "inflight") return;
      if (e.code === "rate_limited" || e.code === "internal" || e.code === "unavailable") {
        const secs = e.retryAfter || Math.min(30, 2 ** Math.min(5, (o.tries = (o.tries || 0) + 1)));
        o.state = "wait";
        o.retryAt = Date.now() + secs * 1000;
        o.error = e.code === "rate_limited" ? "Sending too fast: retrying in " + secs + " s." : "Server error: retrying in " + secs + " s.";
        showError(o.error);
        renderPending(o);
        S.retryTimer = setTimeout(flushOutbox, secs * 1000 + 50);
      } else if (e.code === "network" || e.status === 0) {
        o.state = "queued"; // offline: stays queued until the connection is back
        renderPending(o);
      } else if (e.status === 401) {
        o.state = "queued";
      } else {
        failed(o, e);
      }
    }
    saveOutbox();
    updateBanner();
  }

  function sent(o, m) {
    S.outbox = S.outbox.filter((x) => x !== o);
    saveOutbox();
    o.state = "sent";
    if (o.error) showError("");
    const c = ensureConv(m.to);
    if (!c.last || later(m, c.last)) c.last = m;
    upsertThreadMsg(m, true);
    renderListSoon();
    updateBanner();
  }

  function failed(o, e) {
    o.state = "failed";
    o.error = describeError(e);
    saveOutbox();
    renderPending(o);
    showError("Message not sent: " + o.error);
  }

  function updateCounter() {
    const ta = $("compose-text");
    const n = chars(ta.value);
    const out = $("compose-count");
    out.textContent = n + " / " + MAX_TEXT;
    const over = n > MAX_TEXT;
    out.classList.toggle("over", over);
    out.classList.toggle("near", !over && n > MAX_TEXT - 200);
    ta.setAttribute("aria-invalid", String(over));
    $("send-btn").disabled = over || !ta.value.trim();
    showError(over ? "Too long by " + (n - MAX_TEXT) + " characters: a message has at most " + MAX_TEXT + "." : "", "compose-error");
  }

  // ---------------------------------------------------------------- WebSocket

  function saveCursor(c) {
    if (c && S.me) localStorage.setItem(keyCursor(S.me.id), c);
  }

  function sendFrame(frame, onAck, onLost) {
    if (!S.ws || S.ws.readyState !== WebSocket.OPEN) {
      if (onLost) onLost();
      return false;
    }
    const ref = "r" + ++S.refSeq;
    frame.ref = ref;
    S.pendingAcks.set(ref, { onAck: onAck || null, onLost: onLost || null });
    S.ws.send(JSON.stringify(frame));
    return true;
  }

  function connect() {
    clearTimeout(S.reconnectTimer);
    if (!S.token || !S.me || S.ws) return;
    if (navigator.onLine === false) {
      scheduleReconnect(); // the "online" event reconnects at once
      return;
    }
    const cursor = localStorage.getItem(keyCursor(S.me.id));
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws" +
      (cursor ? "?since=" + encodeURIComponent(cursor) : "");
    let ws;
    try {
      ws = new WebSocket(url, ["tidings.v1", "bearer." + S.token]);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    S.ws = ws;
    S.wsReady = false;
    S.backlog = true;
    let opened = false;
    if (S.attempt === 0) setBanner("connecting");
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (ev) => {
      if (S.ws === ws) onFrame(ev.data);
    };
    ws.onclose = (ev) => dropped(ev.code);
    // dropped forgets the socket (closed, or given up on) and schedules
    // the reconnection.
    const dropped = (code) => {
      if (S.ws !== ws) return;
      S.ws = null;
      S.dropSocket = null;
      S.wsReady = false;
      const lost = [...S.pendingAcks.values()];
      S.pendingAcks = new Map();
      for (const p of lost) if (p.onLost) p.onLost();
      if (code === 4001) {
        // The token was signed out (on another tab or device), renewed
        // elsewhere, or expired: it opens nothing any more.
        signOut("You were signed out. Sign in again.");
        return;
      }
      if (code === 4029) {
        scheduleReconnect(TOO_MANY_CONNS_DELAY + Math.random() * 10000, "Too many open tabs or devices: reconnecting later.");
      } else {
        if (!opened) checkToken(); // a 401 on the handshake looks like any failure here
        scheduleReconnect();
      }
      flushOutbox(); // over REST while the socket is down
    };
    S.dropSocket = () => {
      ws.close(4000, "offline");
      dropped(4000);
    };
    // A handshake or backlog that hangs is given up on.
    setTimeout(() => {
      if (S.ws === ws && !S.wsReady) S.dropSocket();
    }, 15000);
  }

  async function checkToken() {
    try {
      await api("GET", "/me");
    } catch (e) {
      // api() signs out on 401; other failures: just offline.
    }
  }

  // scheduleReconnect waits with exponential backoff and full jitter.
  function scheduleReconnect(delay, why) {
    if (!S.token) return;
    if (delay === undefined) {
      const cap = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** S.attempt);
      delay = cap / 2 + Math.random() * (cap / 2);
      S.attempt++;
    }
    S.reconnectAt = Date.now() + delay;
    S.reconnectWhy = why || "";
    clearTimeout(S.reconnectTimer);
    S.reconnectTimer = setTimeout(connect, delay);
    setBanner("offline");
  }

  function reconnectNow() {
    S.attempt = 0;
    if (S.ws) return;
    connect();
  }

  function onFrame(data) {
    let f;
    try {
      f = JSON.parse(data);
    } catch (e) {
      return;
    }
    switch (f.type) {
      case "message":
        if (f.message) onMessage(f.message);
        saveCursor(f.cursor);
        break;
      case "receipt":
        applyStatus(f.id, f.status);
        renderListSoon();
        saveCursor(f.cursor);
        break;
      case "read": // read on one of my devices (maybe this one)
        applyStatus(f.id, "read");
        if (!S.thread.has(f.id)) scheduleRefresh(); // another conversation's unread count changed
        saveCursor(f.cursor);
        break;
      case "ready":
        saveCursor(f.cursor);
        S.backlog = false;
        S.wsReady = true;
        S.attempt = 0;
        setBanner("");
        if (f.reset) {
          // The cursor is of no use any more: refetch the views.
          S.status = new Map();
          if (S.open) openThread(S.open);
        }
        refreshConvs();
        flushOutbox();
        sendReads();
        break;
      case "ack": {
        const p = S.pendingAcks.get(f.ref);
        if (p) {
          S.pendingAcks.delete(f.ref);
          if (p.onAck) p.onAck(f);
        }
        break;
      }
    }
  }

  // onMessage handles a pushed message: ack it (delivered), show it, count
  // it. Pushes can repeat across reconnects: de-duplicated by id.
  function onMessage(m) {
    if (!S.me || m.to !== S.me.id) return;
    if (!S.acked.has(m.id)) {
      S.acked.add(m.id);
      if (m.status === "sent") {
        sendFrame({ type: "ack", id: m.id }, (f) => {
          if (!f.ok) S.acked.delete(m.id);
          else if (f.position) notePosition(f.position);
        });
      }
    }
    const fresh = !S.seen.has(m.id);
    S.seen.add(m.id);
    const c = ensureConv(m.from);
    if (!c.last || later(m, c.last)) c.last = m;
    const live = fresh && !S.backlog && m.status !== "read";
    if (live && S.open !== m.from) {
      c.unread++;
      if (S.liveDuringRefresh) S.liveDuringRefresh.push(m);
    }
    if (live && S.open === m.from && document.visibilityState === "hidden") {
      // The divider marks what arrived in the open thread while away.
      if (!S.awayDivider || !S.divider) {
        S.divider = { id: m.id, count: 0 };
        S.awayDivider = true;
      }
      S.divider.count++;
    }
    loadName(m.from);
    if (S.open === m.from) upsertThreadMsg(m, true);
    renderListSoon();
    updateTitleSoon();
    maybeNotify(m, live);
  }

  // ---------------------------------------------------------------- notifications

  // Desktop notifications are off until the user turns them on with the
  // bell button: the browser's permission prompt comes only from that
  // click, never on load. They show while the tab is hidden, with the
  // sender's name and a short preview (L.notificationFor).

  function notifyEnabled() {
    return !!(S.me && window.Notification && Notification.permission === "granted" &&
      localStorage.getItem(keyNotify(S.me.id)) === "1");
  }

  function renderNotifyBtn() {
    const b = $("notify-btn");
    const N = window.Notification;
    b.hidden = !N;
    if (!N) return;
    const on = notifyEnabled();
    b.setAttribute("aria-pressed", String(on));
    b.title = N.permission === "denied"
      ? "Notifications are blocked for this site in the browser's settings"
      : on ? "Desktop notifications are on (click to turn off)" : "Turn on desktop notifications for messages that arrive while this tab is hidden";
  }

  async function toggleNotify() {
    const N = window.Notification;
    if (!N || !S.me) return;
    const key = keyNotify(S.me.id);
    if (notifyEnabled()) {
      localStorage.removeItem(key);
      renderNotifyBtn();
      return;
    }
    let p = N.permission;
    if (p === "default") {
      try {
        p = await N.requestPermission();
      } catch (e) {
        p = "denied";
      }
    }
    if (p === "granted") localStorage.setItem(key, "1");
    else showError("Notifications are blocked for this site: allow them in the browser's site settings, then turn them on here.");
    renderNotifyBtn();
  }

  function maybeNotify(m, live) {
    const N = window.Notification;
    if (!N || !S.me) return;
    const ctx = {
      me: S.me.id, open: S.open, hidden: document.visibilityState === "hidden",
      enabled: notifyEnabled(), permission: N.permission, live,
    };
    if (!L.notificationFor(m, ctx)) return;
    loadName(m.from).then(() => {
      const n = L.notificationFor(m, Object.assign({ name: nameOf(m.from) }, ctx));
      if (!n) return;
      try {
        const note = new N(n.title, { body: n.body, tag: n.tag, icon: "/static/icon.svg" });
        note.onclick = () => {
          window.focus();
          go(m.from);
          note.close();
        };
      } catch (e) {
        // Some browsers (Chrome on Android) show notifications only from a service worker.
      }
    });
  }

  // ---------------------------------------------------------------- banner

  function setBanner(state) {
    S.conn = state;
    document.body.dataset.conn = state || (S.wsReady ? "online" : "");
    updateBanner();
  }

  function updateBanner() {
    const b = $("banner");
    clearTimeout(S.bannerTimer);
    const queued = S.outbox.filter((o) => o.state !== "failed").length;
    const q = queued ? " " + queued + (queued === 1 ? " message waits" : " messages wait") + " to be sent." : "";
    if (!S.me || !S.conn) {
      b.hidden = true;
      b.className = "banner";
      return;
    }
    b.replaceChildren();
    if (S.conn === "connecting") {
      b.className = "banner info";
      b.append(el("span", "", "Connecting…"));
    } else {
      b.className = "banner offline";
      const secs = Math.max(0, Math.ceil((S.reconnectAt - Date.now()) / 1000));
      const why = !navigator.onLine ? "No network connection." : S.reconnectWhy || "Offline: live updates paused.";
      b.append(el("span", "", why + (secs > 0 ? " Reconnecting in " + secs + " s." : " Reconnecting…") + q));
      const btn = el("button", "link", "Reconnect now");
      btn.type = "button";
      btn.addEventListener("click", reconnectNow);
      b.append(" ", btn);
      S.bannerTimer = setTimeout(updateBanner, 1000);
    }
    b.hidden = false;
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    $("signup-form").addEventListener("submit", signUp);
    $("signin-form").addEventListener("submit", signIn);
    $("login-form").addEventListener("submit", logIn);
    $("signout-btn").addEventListener("click", signOutEverywhere);
    $("token-btn").addEventListener("click", () => toggleToken($("token-panel").hidden));
    $("token-close").addEventListener("click", () => toggleToken(false));
    $("notify-btn").addEventListener("click", toggleNotify);
    $("start-form").addEventListener("submit", startConversation);
    $("start-name").addEventListener("input", () => showError("", "start-error"));
    $("compose").addEventListener("submit", submitCompose);
    $("older-btn").addEventListener("click", loadOlder);
    $("back-btn").addEventListener("click", () => go(null));
    $("messages").addEventListener("scroll", () => {
      if ($("messages").scrollTop < 40 && S.older) loadOlder();
    });
    const ta = $("compose-text");
    ta.addEventListener("input", updateCounter);
    ta.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
        ev.preventDefault();
        submitCompose();
      } else if (ev.key === "Escape" && window.matchMedia("(max-width: 720px)").matches) {
        go(null);
      }
    });
    window.addEventListener("hashchange", route);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") S.awayDivider = false; // a new divider for what comes next
      if (document.visibilityState === "visible") {
        sendReads();
        if (!S.ws && S.token) reconnectNow();
      }
    });
    window.addEventListener("online", () => {
      reconnectNow();
      flushOutbox();
    });
    window.addEventListener("offline", () => {
      // The socket is dead or about to be; do not wait for a ping timeout.
      if (S.dropSocket) S.dropSocket();
      updateBanner();
    });
    window.addEventListener("storage", (ev) => {
      // Signed out in another tab.
      if (ev.key === KEY_TOKEN && !ev.newValue && S.token) signOut("You signed out in another tab.");
    });

    S.token = localStorage.getItem(KEY_TOKEN);
    if (!S.token) {
      showAuth();
      return;
    }
    start({}).catch((e) => {
      if (e.status === 401) return; // api() signed out
      // Server unreachable: keep the token and try again shortly.
      showAuth();
      showError("Cannot reach the server: " + describeError(e) + " Reload to try again.", "auth-error");
    });
  }

  init();
})();
