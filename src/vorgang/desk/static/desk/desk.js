// Progressive enhancement for the desk; every form also works without this file.
(function () {
  "use strict";

  // The "wait until" field matters only for the waiting states: show it (and require
  // it) only when one of those is chosen.
  function setUpPendingForm(form) {
    var select = form.querySelector("select[name=state]");
    var field = form.querySelector("[data-pending-field]");
    var input = field && field.querySelector("input");
    if (!select || !field || !input) {
      return;
    }
    function update() {
      var option = select.options[select.selectedIndex];
      var pending = option && option.hasAttribute("data-pending");
      field.hidden = !pending;
      input.required = pending;
    }
    select.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-pending-form]").forEach(setUpPendingForm);
  });
})();
