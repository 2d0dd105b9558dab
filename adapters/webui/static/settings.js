// tidings web client: the settings panel: hide last seen (GET/PATCH
// /me/settings) and deleting the account (DELETE /me, with the password).
// Loaded before app.js; app.js calls init with its interface.
"use strict";

(window.TidingsExt = window.TidingsExt || []).push({
  name: "settings",
  init(app) {
    const { $ } = app;
    const panel = $("settings-panel");
    const btn = $("settings-btn");
    const hide = $("hide-last-seen");

    function say(id, text) {
      const p = $(id);
      p.textContent = text;
      p.hidden = !text;
    }

    async function load() {
      hide.disabled = true;
      try {
        const { data } = await app.api("GET", "/me/settings");
        hide.checked = !!data.hide_last_seen;
        hide.disabled = false;
      } catch (e) {
        say("settings-error", "Could not load your settings: " + app.describeError(e));
      }
    }

    function toggle(show) {
      panel.hidden = !show;
      btn.setAttribute("aria-expanded", String(show));
      say("settings-error", "");
      say("delete-error", "");
      if (show) {
        load();
        hide.focus();
      } else {
        $("delete-password").value = "";
      }
    }

    btn.addEventListener("click", () => toggle(panel.hidden));
    $("settings-close").addEventListener("click", () => {
      toggle(false);
      btn.focus();
    });
    panel.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        toggle(false);
        btn.focus();
      }
    });

    hide.addEventListener("change", async () => {
      const want = hide.checked;
      hide.disabled = true;
      say("settings-error", "");
      try {
        const { data } = await app.api("PATCH", "/me/settings", { hide_last_seen: want });
        hide.checked = !!data.hide_last_seen;
        document.dispatchEvent(new CustomEvent("tidings:settings", { detail: data }));
        say("settings-saved", data.hide_last_seen ? "Last seen hidden: nobody sees yours, and you see nobody's." : "Last seen shown to your contacts.");
      } catch (e) {
        hide.checked = !want;
        say("settings-error", "Not saved: " + app.describeError(e));
      } finally {
        hide.disabled = false;
      }
    });

    // Deleting the account: the server erases the text of every message
    // the user sent (docs/privacy.md); on success this browser forgets the
    // token, cursor and outbox, as a sign-out does.
    $("delete-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const password = $("delete-password").value;
      const confirmed = $("delete-confirm").checked;
      if (!confirmed) {
        say("delete-error", "Tick the box to confirm that you want to delete your account.");
        $("delete-confirm").focus();
        return;
      }
      const go = $("delete-btn");
      go.disabled = true;
      say("delete-error", "");
      try {
        await app.api("DELETE", "/me", password ? { password } : {}, { noSignOut: true });
        $("delete-password").value = "";
        $("delete-confirm").checked = false;
        toggle(false);
        app.signOut("Your account was deleted, with the text of every message you sent.");
      } catch (e) {
        const msg = {
          invalid_credentials: password
            ? "Wrong password: nothing was deleted."
            : "Enter your password to delete your account.",
          rate_limited: "Too many attempts: try again in " + (e.retryAfter || 60) + " s.",
        }[e.code];
        say("delete-error", msg || "Not deleted: " + app.describeError(e));
        $("delete-password").focus();
      } finally {
        go.disabled = false;
      }
    });

    return {
      signedOut() {
        panel.hidden = true;
        btn.setAttribute("aria-expanded", "false");
        $("delete-password").value = "";
        $("delete-confirm").checked = false;
      },
    };
  },
});
