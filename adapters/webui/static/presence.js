// tidings web client: typing indicator and presence of the open
// conversation's peer (docs/websocket.md, "Typing and presence"). Loaded
// before app.js; app.js calls init with its interface.
"use strict";

(window.TidingsExt = window.TidingsExt || []).push({
  name: "presence",
  init(app) {
    const { S, L, $ } = app;
    const ta = $("compose-text");

    // ------------------------------------------------------------ typing (sent)

    let typing = { typing: false, last: 0 }; // L.typingStep's state
    let typingTo = null; // whom the last start went to

    // step feeds an event of the compose box to L.typingStep (start at
    // most every 3 s while typing; stop on clear, send, blur or leaving
    // the thread) and sends the frame it asks for.
    function step(kind) {
      const r = L.typingStep(typing, { kind, text: ta.value, now: Date.now() });
      typing = r.state;
      if (!r.send) return;
      const to = r.send === "start" ? S.open : typingTo;
      if (r.send === "start") typingTo = S.open;
      if (!to || !S.wsReady) return;
      app.sendFrame({ type: "typing", to, state: r.send });
    }

    ta.addEventListener("input", () => {
      if (S.open) step("input");
    });
    ta.addEventListener("blur", () => step("blur"));

    // ------------------------------------------------------------ typing (shown)

    const typers = new Map(); // user id -> timer hiding their indicator

    function setTyping(user, on, ttl) {
      clearTimeout(typers.get(user));
      typers.delete(user);
      if (on) typers.set(user, setTimeout(() => setTyping(user, false), ttl || 6000));
      renderTyping();
      app.renderListSoon();
    }

    function renderTyping() {
      const on = !!S.open && typers.has(S.open);
      const p = $("typing");
      if (p.hidden === !on) return;
      p.hidden = !on;
      $("thread-presence").hidden = on;
    }

    // ------------------------------------------------------------ presence

    let watched = null; // peer watched on the current socket
    let state = { user: null, p: null, missing: false }; // presence of the open peer
    let retried = false;
    let conversing = false; // a message of the open conversation was shown
    let retries = 0; // watches asked again after not_found
    let retryTimer = null;

    let relabel = null;

    function render() {
      const label = state.user === S.open ? L.presenceLabel(state.p, new Date(), undefined) : "";
      const p = $("thread-presence");
      if (p.textContent !== label) p.textContent = label;
      // "today" becomes "yesterday" at midnight: look again every minute.
      clearTimeout(relabel);
      if (label.startsWith("last seen")) relabel = setTimeout(render, 60000);
      p.dataset.online = String(!!(state.p && state.p.online && state.user === S.open));
    }

    function setPresence(user, p) {
      if (user !== S.open) return;
      state = { user, p, missing: false };
      if (p && !p.online) setTyping(user, false);
      render();
    }

    // watch asks for the open peer's presence and its changes: over the
    // socket (a watch frame), or once over REST while it is down. A peer
    // without a conversation yet is not_found: asked again once the
    // first message is there.
    function watch(peer) {
      if (!peer) return;
      if (S.wsReady) {
        watched = peer;
        app.sendFrame({ type: "watch", user: peer }, (f) => {
          if (f.ok && f.presence) setPresence(peer, f.presence);
          else if (f.error && f.error.code === "not_found" && peer === S.open) notFound(peer);
        });
      } else {
        app.api("GET", "/users/" + encodeURIComponent(peer) + "/presence")
          .then(({ data }) => setPresence(peer, data))
          .catch((e) => {
            if (e.code === "not_found" && peer === S.open) notFound(peer);
          });
      }
    }

    // notFound: the peer's presence is not ours to see yet (no conversation
    // in the views). Once a message of the conversation is shown, the views
    // may still be applying it (on Cassandra, a moment later): ask again,
    // backing off, a few times.
    function notFound(peer) {
      state = { user: peer, p: null, missing: true };
      if (!conversing || retries >= 6) return;
      const delay = Math.min(4000, 250 * 2 ** retries);
      retries++;
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => {
        if (S.open === peer && state.missing) watch(peer);
      }, delay);
    }

    // Hiding last seen works both ways, and the server applies it to the
    // next change it pushes: ask again now (settings.js dispatches this).
    document.addEventListener("tidings:settings", () => {
      if (S.open) watch(S.open);
    });

    function unwatch() {
      if (watched && S.wsReady) app.sendFrame({ type: "unwatch", user: watched });
      watched = null;
    }

    return {
      open(peer) {
        if (typingTo && typingTo !== peer) step("blur");
        if (watched !== peer) unwatch();
        state = { user: peer, p: null, missing: false };
        retried = false;
        conversing = false;
        retries = 0;
        clearTimeout(retryTimer);
        render();
        renderTyping();
        watch(peer);
      },
      close() {
        clearTimeout(retryTimer);
        step("blur");
        unwatch();
        state = { user: null, p: null, missing: false };
        render();
        renderTyping();
      },
      ready() {
        // A new socket watches nothing yet.
        watched = null;
        if (S.open) watch(S.open);
      },
      composed() {
        step("send");
      },
      message(li, m) {
        // The first message of a new conversation makes presence visible.
        if (S.open && app.peerOf(m) === S.open) conversing = true;
        if (state.missing && !retried && S.open && app.peerOf(m) === S.open) {
          retried = true;
          watch(S.open);
        }
      },
      convItem(main, c) {
        // The list says who is typing, in place of the last message.
        if (!typers.has(c.peer)) return;
        const pv = main.querySelector(".conv-preview");
        pv.textContent = "typing…";
        pv.classList.add("typing");
      },
      incoming(m) {
        if (typers.has(m.from)) setTyping(m.from, false);
      },
      frame(f) {
        if (f.type === "typing" && f.from) setTyping(f.from, f.state === "start", f.ttl_ms);
        else if (f.type === "presence" && f.user) setPresence(f.user, f);
      },
      signedOut() {
        clearTimeout(retryTimer);
        for (const t of typers.values()) clearTimeout(t);
        typers.clear();
        typing = { typing: false, last: 0 };
        typingTo = null;
        watched = null;
        state = { user: null, p: null, missing: false };
        render();
        renderTyping();
      },
    };
  },
});
