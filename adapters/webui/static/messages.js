// tidings web client: edit, delete, reply, react, and the frames that
// keep every device in sync (edited, deleted, hidden, reaction, sent,
// read_up_to). Loaded before app.js; app.js calls init with its interface
// (see "extensions" in app.js). Text is only ever set with textContent.
"use strict";

(window.TidingsExt = window.TidingsExt || []).push({
  name: "messages",
  init(app) {
    const { S, L, $, el } = app;
    const EMOJI = ["👍", "❤️", "😂", "😮", "😢", "🙏"];
    let replyTo = null; // id of the message the next send answers
    let editing = null; // id of the own message being edited
    const versions = new Map(); // "id:version" -> text, or null (unavailable)
    const loading = new Set();

    const now = () => Date.now();
    const current = (id) => S.thread.get(id);

    // -------------------------------------------------------------- compose context

    // setContext shows "Replying to …" or "Editing" above the compose box.
    function setContext(kind, m) {
      replyTo = kind === "reply" ? m.id : null;
      editing = kind === "edit" ? m.id : null;
      const box = $("compose-context");
      if (!kind) {
        box.hidden = true;
        box.dataset.kind = "";
        return;
      }
      box.hidden = false;
      box.dataset.kind = kind;
      const who = app.isMine(m) ? "yourself" : app.nameOf(m.from) || "them";
      $("compose-context-label").textContent = kind === "reply" ? "Replying to " + who : "Editing your message";
      $("compose-context-text").textContent = L.preview(m.text || "", 100);
      $("compose-context-cancel").setAttribute("aria-label", kind === "reply" ? "Cancel the reply" : "Cancel the edit");
      const ta = $("compose-text");
      if (kind === "edit") {
        ta.value = m.text;
        app.updateCounter();
      }
      ta.focus();
    }

    function cancelContext() {
      const wasEdit = !!editing;
      setContext(null);
      if (wasEdit) {
        $("compose-text").value = "";
        app.updateCounter();
      }
    }

    $("compose-context-cancel").addEventListener("click", () => {
      cancelContext();
      app.focusCompose();
    });
    $("compose-text").addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && (replyTo || editing)) {
        ev.stopImmediatePropagation(); // not also back to the list (app.js, phones)
        cancelContext();
      }
    });

    async function submitEdit(id, text) {
      try {
        const { data } = await app.api("PATCH", "/messages/" + encodeURIComponent(id), { text });
        upsert(data);
      } catch (e) {
        const msg = {
          edit_window_closed: "Too late to edit: a message can be edited for 15 minutes after it is sent.",
          message_deleted: "That message was deleted.",
          not_found: "That message is gone.",
        }[e.code];
        app.showError("Not edited: " + (msg || app.describeError(e)));
      }
    }

    // -------------------------------------------------------------- actions

    async function react(id, emoji) {
      try {
        const path = "/messages/" + encodeURIComponent(id) + "/reaction";
        const { data } = emoji ? await app.api("PUT", path, { emoji }) : await app.api("DELETE", path);
        upsert(data);
      } catch (e) {
        app.showError("Reaction not saved: " + (e.code === "message_deleted" ? "that message was deleted." : app.describeError(e)));
      }
    }

    async function remove(id, forWhom) {
      try {
        const { data } = await app.api("DELETE", "/messages/" + encodeURIComponent(id) + "?for=" + forWhom);
        if (forWhom === "me") {
          app.removeThreadMsg(id);
          app.scheduleRefresh();
        } else {
          upsert(data);
          markQuotesDeleted(id);
        }
        if (replyTo === id || editing === id) cancelContext();
      } catch (e) {
        const msg = e.code === "delete_window_closed" ? "Too late to delete for everyone (48 hours); you can still delete it for yourself." : app.describeError(e);
        app.showError("Not deleted: " + msg);
      }
    }

    // trashIcon is the delete button's icon, drawn as SVG: not every
    // system has a font with 🗑.
    function trashIcon() {
      const NS = "http://www.w3.org/2000/svg";
      const svg = document.createElementNS(NS, "svg");
      svg.setAttribute("viewBox", "0 0 24 24");
      svg.setAttribute("class", "icon");
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("focusable", "false");
      const path = document.createElementNS(NS, "path");
      path.setAttribute("d", "M4 7h16M9 7V4h6v3M6.5 7l1 13h9l1-13M10 11v6M14 11v6");
      svg.append(path);
      return svg;
    }

    function button(cls, content, label, onClick) {
      const b = el("button", "ghost " + cls);
      b.append(content);
      b.type = "button";
      b.setAttribute("aria-label", label);
      b.title = label;
      b.addEventListener("click", onClick);
      return b;
    }

    // actionsFor builds a message's action bar once: reply, react (a
    // picker of common emoji and "remove"), edit, delete (for me, or for
    // everyone). Buttons, so they are keyboard reachable; which show is
    // decided on each render (windows, tombstones).
    function actionsFor(li) {
      const id = () => li.dataset.id;
      const bar = el("div", "actions");
      const picker = el("div", "picker");
      picker.setAttribute("role", "group");
      picker.setAttribute("aria-label", "Reactions");
      picker.hidden = true;
      for (const e of EMOJI) {
        picker.append(button("emoji", e, "React with " + e, () => {
          picker.hidden = true;
          react(id(), e);
        }));
      }
      picker.append(button("unreact", "Remove", "Remove your reaction", () => {
        picker.hidden = true;
        react(id(), "");
      }));
      const menu = el("div", "delete-menu");
      menu.setAttribute("role", "group");
      menu.setAttribute("aria-label", "Delete");
      menu.hidden = true;
      menu.append(
        button("del-me", "Delete for me", "Delete for me", () => {
          menu.hidden = true;
          remove(id(), "me");
        }),
        button("del-all", "Delete for everyone", "Delete for everyone", () => {
          menu.hidden = true;
          remove(id(), "everyone");
        }),
        button("del-cancel", "Cancel", "Cancel", () => {
          menu.hidden = true;
        }),
      );
      bar.append(
        button("act-reply", "↩", "Reply", () => setContext("reply", current(id()))),
        button("act-react", "☺", "React", () => {
          menu.hidden = true;
          picker.hidden = !picker.hidden;
          if (!picker.hidden) picker.querySelector("button").focus();
        }),
        button("act-edit", "✎", "Edit", () => setContext("edit", current(id()))),
        button("act-delete", trashIcon(), "Delete", () => {
          picker.hidden = true;
          menu.hidden = !menu.hidden;
          if (!menu.hidden) menu.querySelector("button").focus();
        }),
      );
      // Escape closes the picker or the menu and goes back to its button.
      for (const [box, opener] of [[picker, ".act-react"], [menu, ".act-delete"]]) {
        box.addEventListener("keydown", (ev) => {
          if (ev.key !== "Escape") return;
          ev.stopPropagation();
          box.hidden = true;
          bar.querySelector(opener).focus();
        });
      }
      li.querySelector(".bubble").append(bar, picker, menu);
      return bar;
    }

    // -------------------------------------------------------------- rendering

    function renderQuote(li, m) {
      const rt = m.reply_to;
      let q = li.querySelector(".quote");
      if (!rt) {
        if (q) q.remove();
        return;
      }
      const orig = current(rt.id) || null;
      let view = L.quoteOf(rt, orig);
      if (view.kind === "load") {
        const k = rt.id + ":" + (rt.version || 1);
        if (versions.has(k)) {
          const t = versions.get(k);
          view = t === null ? { kind: "unavailable" } : { kind: "text", text: t };
        } else {
          loadVersion(rt.id, rt.version || 1);
        }
      }
      const text = {
        text: view.text,
        deleted: "This message was deleted",
        unavailable: "Original message unavailable",
        load: "…",
      }[view.kind];
      const key = view.kind + ":" + text;
      if (q && q.dataset.key === key) return;
      if (!q) {
        q = el("button", "quote");
        q.type = "button";
        q.addEventListener("click", () => jumpTo(q.dataset.target));
        li.querySelector(".bubble").prepend(q);
      }
      q.dataset.key = key;
      q.dataset.target = rt.id;
      q.dataset.kind = view.kind;
      const from = orig ? (app.isMine(orig) ? "You" : app.nameOf(orig.from) || "") : "";
      q.replaceChildren(el("span", "quote-from", from || "Reply to"), el("span", "quote-text", L.preview(text || "", 160)));
      q.setAttribute("aria-label", "Quoted message: " + (text || "") + ". Show the original");
    }

    async function loadVersion(id, version) {
      const k = id + ":" + version;
      if (loading.has(k)) return;
      loading.add(k);
      try {
        const { data } = await app.api("GET", "/messages/" + encodeURIComponent(id) + "/versions");
        for (const v of data || []) versions.set(id + ":" + v.version, v.text);
        if (!versions.has(k)) versions.set(k, null);
      } catch (e) {
        versions.set(k, null);
      } finally {
        loading.delete(k);
      }
      for (const m of S.thread.values()) if (m.reply_to && m.reply_to.id === id) app.upsertThreadMsg(m, false);
    }

    // jumpTo scrolls to the quoted message when it is loaded and moves
    // the focus there.
    function jumpTo(id) {
      const li = S.msgEls.get(id);
      if (!li) {
        app.showError("The original message is further up: load older messages to see it.");
        return;
      }
      li.scrollIntoView({ block: "center" });
      li.classList.remove("flash");
      void li.offsetWidth; // restart the highlight
      li.classList.add("flash");
      clearTimeout(jumpTo.timer);
      jumpTo.timer = setTimeout(() => li.classList.remove("flash"), 2000);
      li.tabIndex = -1;
      li.focus({ preventScroll: true });
    }

    function renderReactions(li, m) {
      const views = m.deleted ? [] : L.reactionView(m.reactions, m.version, S.me && S.me.id);
      const key = JSON.stringify(views);
      let box = li.querySelector(".reactions");
      if (box && box.dataset.key === key) return;
      if (!box) {
        box = el("div", "reactions");
        li.querySelector(".meta").before(box);
      }
      box.dataset.key = key;
      box.hidden = views.length === 0;
      box.replaceChildren(...views.map((v) => {
        const s = el("span", "reaction" + (v.mine ? " mine" : "") + (v.stale ? " stale" : ""), v.emoji);
        const who = v.mine ? "You" : app.nameOf(m.from === (S.me && S.me.id) ? m.to : m.from) || "They";
        const label = who + " reacted " + v.emoji + (v.stale ? " to an earlier version" : "");
        s.title = v.stale ? "reacted to an earlier version" : label;
        s.setAttribute("aria-label", label);
        s.setAttribute("role", "img");
        return s;
      }));
    }

    function renderEdited(li, m) {
      let mark = li.querySelector(".edited");
      const show = m.edited && !m.deleted && !m.erased;
      if (!show) {
        if (mark) mark.remove();
        return;
      }
      if (!mark) {
        mark = el("span", "edited", "edited");
        li.querySelector(".time").before(mark);
      }
      mark.title = m.edited_at ? "Edited " + app.fmtFull(m.edited_at) : "Edited";
    }

    function message(li, m) {
      li.classList.toggle("deleted", !!m.deleted);
      renderQuote(li, m);
      renderEdited(li, m);
      renderReactions(li, m);
      const bar = li.querySelector(".actions") || actionsFor(li);
      const me = S.me && S.me.id;
      const live = !m.deleted && !m.erased;
      bar.querySelector(".act-reply").hidden = !live;
      bar.querySelector(".act-react").hidden = !live;
      bar.querySelector(".act-edit").hidden = !L.canEdit(m, me, now());
      li.querySelector(".del-all").hidden = !L.canDeleteForEveryone(m, me, now());
      if (!live) li.querySelector(".picker").hidden = true;
    }

    // -------------------------------------------------------------- frames

    // upsert shows a changed message in the open thread and the list.
    function upsert(m) {
      for (const c of S.convs.values()) if (c.last && c.last.id === m.id) c.last = Object.assign({}, c.last, m);
      app.upsertThreadMsg(m, false);
      app.renderListSoon();
    }

    // change applies a partial change (a frame) to a message known here:
    // in the open thread, or the last message of a conversation.
    function change(id, patch) {
      const m = current(id);
      if (m) upsert(Object.assign({}, m, patch(m)));
      for (const c of S.convs.values()) {
        if (c.last && c.last.id === id && !m) c.last = Object.assign({}, c.last, patch(c.last));
      }
      app.renderListSoon();
    }

    function markQuotesDeleted(id) {
      for (const m of [...S.thread.values()]) {
        if (m.reply_to && m.reply_to.id === id) {
          app.upsertThreadMsg(Object.assign({}, m, { reply_to: { id, version: m.reply_to.version, deleted: true } }), false);
        }
      }
    }

    function frame(f) {
      switch (f.type) {
        case "edited":
          change(f.id, () => ({ text: f.text, version: f.version, edited: true, edited_at: f.edited_at }));
          break;
        case "deleted":
          change(f.id, () => ({ text: "", deleted: true, deleted_at: f.at, reactions: undefined, version: undefined, edited: undefined, edited_at: undefined }));
          markQuotesDeleted(f.id);
          if (replyTo === f.id) cancelContext();
          break;
        case "hidden":
          app.removeThreadMsg(f.id);
          app.scheduleRefresh();
          break;
        case "reaction":
          change(f.id, (m) => ({ reactions: L.applyReaction(m.reactions, m.from, f.by, f.emoji, f.version) }));
          break;
        case "sent": {
          // An own message sent from another device (or echoed to this one).
          const m = f.message;
          if (!m || !S.me || m.from !== S.me.id) break;
          const c = app.ensureConv(m.to);
          if (!c.last || app.later(m, c.last)) c.last = m;
          app.loadName(m.to);
          app.upsertThreadMsg(m, true);
          app.renderListSoon();
          break;
        }
        case "read_up_to":
          // Read on another device up to f.up_to: no receipt to send from
          // here; the counts come from the server.
          if (S.open === f.peer) {
            for (const m of S.thread.values()) {
              if (m.from === f.peer && m.id <= f.up_to && !S.readSent.has(m.id)) {
                S.readSent.add(m.id);
                app.upsertThreadMsg(m, false);
              }
            }
          }
          app.scheduleRefresh();
          break;
      }
    }

    return {
      message,
      frame,
      submit(text) {
        if (!editing) return false;
        const id = editing;
        setContext(null);
        const m = current(id);
        if (m && m.text !== text) submitEdit(id, text);
        return true;
      },
      replyTo: () => replyTo,
      composed() {
        if (replyTo) setContext(null);
      },
      open: () => setContext(null),
      close: () => setContext(null),
      signedOut() {
        setContext(null);
        versions.clear();
      },
    };
  },
});
