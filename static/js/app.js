// Tenantry's small progressive enhancements. Every page works without this file for reading.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function copyText(text, button) {
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.classList.add("copied");
      setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
      done();
    }
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy"));
      if (source) copyText(source.textContent.trim(), copy);
      return;
    }
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      event.preventDefault();  // a link to #dialog without JS (app.css shows it in place)
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog) {
        dialog.showModal();
        armConfirm(dialog);
        var first = dialog.querySelector("input:not([type=hidden]), textarea, select");
        if (first) first.focus();
      }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      event.preventDefault();
      closer.closest("dialog").close();
    }
  });

  // "Type the slug to confirm": the submit button stays disabled until the text matches.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.matches("[data-confirm-text]")) {
      var button = input.form.querySelector("[type=submit]");
      button.disabled = input.value.trim() !== input.getAttribute("data-confirm-text");
    }
    if (input.matches("[data-slug-source]")) {
      var target = document.getElementById(input.getAttribute("data-slug-source"));
      var length = Number(input.getAttribute("data-slug-length"));
      if (target && !target.dataset.touched) {
        target.value = slugify(input.value, length);
        // The server may pick a free variant of a slug nobody chose (CustomerCreateForm).
        if (input.form.elements.slug_suggested) input.form.elements.slug_suggested.value = "1";
      }
    }
    if (input.matches("[data-slug-target]")) {
      input.dataset.touched = "1";
      if (input.form.elements.slug_suggested) input.form.elements.slug_suggested.value = "";
    }
  });

  function armConfirm(scope) {
    scope.querySelectorAll("[data-confirm-text]").forEach(function (input) {
      input.form.querySelector("[type=submit]").disabled =
        input.value.trim() !== input.getAttribute("data-confirm-text");
    });
  }

  // With JS, the links that open and close dialogs act as buttons, and say so.
  function asButtons() {
    document.querySelectorAll("a[data-dialog-open], a[data-dialog-close]").forEach(function (link) {
      link.setAttribute("role", "button");
    });
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === " " && event.target.matches("a[role=button]")) {
      event.preventDefault();
      event.target.click();
    }
  });
  document.addEventListener("htmx:afterSettle", asButtons);

  // A dialog the server re-rendered with errors opens as a modal again.
  document.addEventListener("DOMContentLoaded", function () {
    asButtons();
    document.querySelectorAll("dialog[data-show-modal]").forEach(function (dialog) {
      dialog.close();
      dialog.showModal();
      armConfirm(dialog);
    });
  });

  // A select that submits on change does so for a mouse pick. Arrowing through it with the
  // keyboard changes nothing until Enter or leaving it: an arrow key must not switch the
  // organization or a user's role on the way to the wanted option.
  var keyed = new WeakSet();
  document.addEventListener("keydown", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-autosubmit]")) return;
    if (event.key === "Enter") {
      if (keyed.has(select)) { event.preventDefault(); keyed.delete(select); select.form.requestSubmit(); }
    } else if (event.key !== "Tab") {
      keyed.add(select);
    }
  });
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches("[data-autosubmit]")) return;
    if (keyed.has(select)) return;  // submitted by Enter, or on leaving it
    select.form.requestSubmit();
  });
  document.addEventListener("focusout", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && keyed.has(select)) {
      keyed.delete(select);
      var chosen = select.querySelector("option[selected]");
      if (!chosen || chosen.value !== select.value) select.form.requestSubmit();
    }
  });

  // After a swap: announce the new result count, and keep the keyboard where it was. Focus
  // stays on the control that asked (a filter box), or goes to the same control in the new
  // content (a sort header, by id), or else to the updated region itself (a pager link).
  document.addEventListener("htmx:afterSettle", function (event) {
    var id = event.detail.target && event.detail.target.id;
    var region = id ? document.getElementById(id) : null;
    if (!region) return;
    var live = document.getElementById("live-status");
    if (live && region.dataset.announce) {
      live.textContent = "";
      setTimeout(function () { live.textContent = region.dataset.announce; }, 50);
    }
    if (region.hasAttribute("data-focus-region")) {  // a details drawer: read it next
      drawerOpener = event.detail.requestConfig && event.detail.requestConfig.elt;
      (region.querySelector("h2[tabindex]") || region).focus();
      return;
    }
    if (region.hasAttribute("data-focus-first")) {  // a grid cell and its editor
      var first = region.querySelector("[aria-invalid=true]") ||
        region.querySelector("input:not([type=hidden]):checked, input:not([type=hidden]), select, textarea, a, button");
      if (first) first.focus();
      return;
    }
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!trigger || trigger.isConnected || trigger.tagName === "FORM") return;
    var same = trigger.id ? document.getElementById(trigger.id) : null;
    var target = same || region;
    if (!target.hasAttribute("tabindex") && !target.matches("a, button, input, select, textarea")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus({ preventScroll: true });
    // A pager swaps the rows under the reader: bring the top of the new rows into view.
    if (!same && region.getBoundingClientRect().top < 0) region.scrollIntoView({ block: "start" });
  });

  // The execution drawer closes with its button or Esc, and focus goes back to its row.
  var drawerOpener = null;
  function closeDrawer() {
    var drawer = document.querySelector("[data-focus-region]:not(:empty)");
    if (!drawer) return false;
    drawer.innerHTML = "";
    if (drawerOpener && drawerOpener.isConnected) drawerOpener.focus();
    return true;
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-drawer-close]")) closeDrawer();
  });

  // Esc closes what is open: suggestions, a limit editor, the drawer, the menus.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var matches = document.querySelector(".customer-filter .matches:not(:empty)");
    if (matches) { matches.innerHTML = ""; return; }
    var editor = event.target.closest && event.target.closest(".limit-editor");
    if (editor) {
      var cancel = editor.querySelector("[data-cancel]");
      if (cancel) cancel.click();
      return;
    }
    if (!document.querySelector("dialog[open]") && closeDrawer()) return;
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    });
    var menuButton = document.querySelector(".menu-button[aria-expanded=true]");
    if (menuButton) { setMenu(menuButton, false); menuButton.focus(); }
  });

  // Phone navigation behind "Menu".
  function setMenu(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    document.getElementById(button.getAttribute("aria-controls")).classList.toggle("is-open", open);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".menu-button");
    if (button) setMenu(button, button.getAttribute("aria-expanded") !== "true");
    if (!event.target.closest(".customer-filter")) {
      document.querySelectorAll(".customer-filter .matches").forEach(function (m) { m.innerHTML = ""; });
    }
    // A click outside the account menu closes it, as a menu should.
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  // Filters fold behind a "Filters" disclosure on a phone, unless some are in use; they are
  // always open on a wide screen (where the summary is not shown).
  var phone = window.matchMedia("(max-width: 52rem)");
  function foldFilters() {
    document.querySelectorAll("details.filters-panel").forEach(function (panel) {
      panel.open = !phone.matches || panel.hasAttribute("data-active");
    });
  }
  document.addEventListener("DOMContentLoaded", foldFilters);
  phone.addEventListener("change", foldFilters);

  // Django's slugify step by step (ASCII only, drop what is not a word character, space or
  // hyphen, join with hyphens), then cut at the server's length (data-slug-length), as
  // customers/platform/slugs.py does: the preview is the slug the server would make.
  function slugify(value, length) {
    return value.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").toLowerCase()
      .replace(/[^\w\s-]/g, "").replace(/[-\s]+/g, "-").replace(/^[-_]+|[-_]+$/g, "")
      .slice(0, length).replace(/[-_]+$/, "");
  }
  // A form marked data-autosubmit goes on by itself (the SAML response posted once more from
  // Tenantry's own page, so the browser sends its session cookie); without JS, its button.
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-autosubmit]");
    if (form) form.submit();
  });
})();
