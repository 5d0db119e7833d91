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
    if (closer) closer.closest("dialog").close();
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
      if (target && !target.dataset.touched) target.value = slugify(input.value);
    }
    if (input.matches("[data-slug-target]")) input.dataset.touched = "1";
  });

  function armConfirm(scope) {
    scope.querySelectorAll("[data-confirm-text]").forEach(function (input) {
      input.form.querySelector("[type=submit]").disabled =
        input.value.trim() !== input.getAttribute("data-confirm-text");
    });
  }

  // A dialog the server re-rendered with errors opens as a modal again.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("dialog[data-show-modal]").forEach(function (dialog) {
      dialog.close();
      dialog.showModal();
      armConfirm(dialog);
    });
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
  });

  function slugify(value) {
    return value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50);
  }
})();
