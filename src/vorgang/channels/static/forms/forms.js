// Progressive enhancement of the hosted form; everything also works without this file.
(function () {
  "use strict";

  function focusField(id) {
    var target = document.getElementById(id);
    if (!target) {
      return false;
    }
    // Show the field's label too, not only the input.
    var holder = target.closest(".kern-form-input, .kern-fieldset, .citizen-field") || target;
    holder.scrollIntoView({ block: "start" });
    target.focus({ preventScroll: true });
    return true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary && document.activeElement !== summary) {
      summary.focus();
    }
    document.querySelectorAll("#error-summary a[data-focus]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (focusField(link.getAttribute("data-focus"))) {
          event.preventDefault();
        }
      });
    });
    // One click sends once: the second click would only send the same form again
    // (which the server answers with the same case, never a second one).
    var form = document.getElementById("service-form");
    if (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-sending") === "1") {
          event.preventDefault();
          return;
        }
        form.setAttribute("data-sending", "1");
      });
    }
  });
})();
