// Overviews: "select all" for the bulk form and a spoken count of the selection.
// Without this file every check box still works; only "select all" is missing.
(function () {
  "use strict";

  function setUp(form) {
    var all = form.querySelector("[data-select-all]");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("[data-case-checkbox]"));
    var status = form.querySelector("[data-selection-count]");
    if (!boxes.length) {
      return;
    }

    function update() {
      var checked = boxes.filter(function (box) { return box.checked; }).length;
      if (all) {
        all.checked = checked === boxes.length;
        all.indeterminate = checked > 0 && checked < boxes.length;
      }
      if (status) {
        var text = checked === 0 ? status.dataset.none
          : checked === 1 ? status.dataset.one
          : status.dataset.many.replace("%(count)s", String(checked));
        status.hidden = false;
        status.textContent = text;
      }
    }

    if (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
        update();
      });
    }
    boxes.forEach(function (box) {
      box.addEventListener("change", function () { update(); });
    });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-pending-form].desk-bulk-form").forEach(setUp);
  });
})();
