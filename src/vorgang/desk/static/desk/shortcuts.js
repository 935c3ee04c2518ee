// Keyboard shortcuts of the desk and their help dialog (press "?").
// Shortcuts never fire while the focus is in a field, so typing is never disturbed.
(function () {
  "use strict";

  var SEQUENCE_MS = 1500;
  var pendingG = 0;
  var opener = null;

  function typing(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) {
      return true;
    }
    if (tag !== "input") {
      return false;
    }
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["checkbox", "radio", "button", "submit", "reset", "file", "image"].indexOf(type) < 0;
  }

  function dialog() {
    return document.getElementById("desk-shortcuts");
  }

  function focusables(root) {
    return Array.prototype.filter.call(
      root.querySelectorAll("a[href], button, input, select, textarea, [tabindex]"),
      function (el) {
        return !el.disabled && el.tabIndex >= 0 && el.offsetParent !== null;
      }
    );
  }

  function openHelp() {
    var box = dialog();
    if (!box || box.open) {
      return;
    }
    opener = document.activeElement;
    box.showModal();
    var close = box.querySelector("[data-shortcuts-close]");
    if (close) {
      close.focus();
    }
  }

  function closeHelp() {
    var box = dialog();
    if (box && box.open) {
      box.close();
    }
  }

  function focusField(id) {
    var field = document.getElementById(id);
    if (!field) {
      return false;
    }
    var details = field.closest("details");
    if (details && !details.open) {
      details.open = true;
    }
    field.scrollIntoView({ block: "center" });
    field.focus();
    return true;
  }

  function focusHeading(id) {
    var heading = document.getElementById(id);
    if (!heading) {
      return false;
    }
    if (!heading.hasAttribute("tabindex")) {
      heading.setAttribute("tabindex", "-1");
    }
    heading.scrollIntoView({ block: "start" });
    heading.focus();
    return true;
  }

  function go(which) {
    var box = dialog();
    var url = box && box.getAttribute("data-" + which + "-url");
    if (url) {
      window.location.assign(url);
      return true;
    }
    return false;
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var box = dialog();
    if (box && box.open) {
      return; // the dialog handles its own keys (Escape closes it)
    }
    if (typing(event.target)) {
      return;
    }
    var key = event.key;
    var now = Date.now();
    if (pendingG && now - pendingG < SEQUENCE_MS) {
      pendingG = 0;
      var targets = { o: "overview", n: "notifications", s: "settings" };
      if (targets[key] && go(targets[key])) {
        event.preventDefault();
      }
      return;
    }
    pendingG = 0;
    var handled = false;
    if (key === "g") {
      pendingG = now;
      handled = true;
    } else if (key === "?") {
      openHelp();
      handled = true;
    } else if (key === "/") {
      handled = focusField("desk-search-q");
    } else if (key === "r") {
      handled = focusField("reply-text");
    } else if (key === "n") {
      handled = focusField("note-body");
    } else if (key === "t") {
      handled = focusHeading("timeline-heading");
    }
    if (handled) {
      event.preventDefault();
    }
  }

  function trapTab(event) {
    var box = dialog();
    if (!box || !box.open || event.key !== "Tab") {
      return;
    }
    var items = focusables(box);
    if (!items.length) {
      event.preventDefault();
      return;
    }
    var first = items[0];
    var last = items[items.length - 1];
    if (event.shiftKey && (document.activeElement === first || !box.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !box.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("keydown", trapTab);
  document.addEventListener("DOMContentLoaded", function () {
    var box = dialog();
    if (!box) {
      return;
    }
    box.addEventListener("close", function () {
      if (opener && typeof opener.focus === "function" && document.contains(opener)) {
        opener.focus();
      }
      opener = null;
    });
    box.addEventListener("click", function (event) {
      if (event.target === box) {
        closeHelp(); // a click on the backdrop
      }
    });
    document.querySelectorAll("[data-shortcuts-close]").forEach(function (button) {
      button.addEventListener("click", closeHelp);
    });
    document.querySelectorAll("[data-shortcuts-open]").forEach(function (button) {
      button.addEventListener("click", openHelp);
    });
  });
})();
