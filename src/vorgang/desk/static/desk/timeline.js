// The case timeline shows only the newest messages (see views/cases.TIMELINE_NEWEST).
// A link to an older message (#article-<id>, e.g. from "Cancel" on the forward page) would
// point nowhere, so such a link reloads the page with the whole timeline (?all=1).
// Everything here is an enhancement: the "Show older messages" link works without it.
(function () {
  "use strict";

  function showDeepLink() {
    var hash = window.location.hash;
    if (!/^#article-\d+$/.test(hash) || document.getElementById(hash.slice(1))) {
      return;
    }
    if (!document.getElementById("timeline-older")) {
      return; // the whole timeline is shown: the message is not (or no longer) on this case
    }
    var url = new URL(window.location.href);
    url.searchParams.set("all", "1");
    window.location.replace(url.toString());
  }

  document.addEventListener("DOMContentLoaded", showDeepLink);
  window.addEventListener("hashchange", showDeepLink);
})();
