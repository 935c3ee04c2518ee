// The live case view: heartbeats tell who is writing, changes by others appear without a
// reload (announced in a polite live region, focus untouched), drafts are kept as you type.
// Everything here is an enhancement: without it the case view works as before.
(function () {
  "use strict";

  var DRAFT_DELAY_MS = 800;
  var WRITING_FOR_MS = 20000;
  var NAV_EVERY_MS = 30000;
  var FORMS = { reply: "form.desk-reply-form", note: "form.desk-note-form" };
  var FIELDS = { reply: ["to", "cc", "text", "quote"], note: ["body"] };

  function root() {
    return document.getElementById("case-live-root");
  }

  function announce(text) {
    var status = document.getElementById("case-live-status");
    if (!status) {
      return;
    }
    status.textContent = "";
    // A short pause so that screen readers notice the new text as a change.
    window.setTimeout(function () {
      status.textContent = text;
    }, 100);
  }

  // --- drafts -------------------------------------------------------------------------------

  function fieldOf(form, name) {
    return form.elements.namedItem(name);
  }

  function restoreDrafts() {
    var data = document.getElementById("case-drafts");
    var drafts = {};
    try {
      drafts = JSON.parse(data ? data.textContent : "{}") || {};
    } catch (err) {
      drafts = {};
    }
    var restored = false;
    Object.keys(FORMS).forEach(function (kind) {
      var form = document.querySelector(FORMS[kind]);
      var draft = drafts[kind];
      if (!form || !draft) {
        return;
      }
      var main = fieldOf(form, kind === "reply" ? "text" : "body");
      if (!main || main.value.trim()) {
        return; // the form holds text already (e.g. after a refused send): keep it
      }
      FIELDS[kind].forEach(function (name) {
        var field = fieldOf(form, name);
        var value = draft[name];
        if (!field || value === undefined) {
          return;
        }
        if (field.type === "checkbox") {
          field.checked = value === "1" || value === "on";
        } else if (value || name !== "to") {
          field.value = value;
        }
      });
      restored = restored || Boolean(main.value.trim());
    });
    if (restored) {
      announce(root().getAttribute("data-msg-restored"));
    }
  }

  function draftBody(kind, form) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", root().getAttribute("data-csrf"));
    FIELDS[kind].forEach(function (name) {
      var field = fieldOf(form, name);
      if (!field) {
        return;
      }
      if (field.type === "checkbox") {
        body.append(name, field.checked ? "1" : "");
      } else {
        body.append(name, field.value);
      }
    });
    return body;
  }

  function watchForm(kind) {
    var form = document.querySelector(FORMS[kind]);
    if (!form) {
      return;
    }
    var timer = 0;
    var stopWriting = 0;
    var sent = false;
    var url = root().getAttribute("data-draft-url").replace("KIND", kind);

    function save() {
      timer = 0;
      if (sent) {
        return;
      }
      fetch(url, {
        method: "POST",
        body: draftBody(kind, form),
        credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest" },
      }).catch(function () {
        /* offline for a moment: the next keystroke saves again */
      });
    }

    function writing() {
      var flag = document.getElementById("presence-writing");
      var presence = document.getElementById("case-presence");
      if (flag && flag.value !== kind) {
        flag.value = kind;
        if (presence && window.htmx) {
          window.htmx.trigger(presence, "vorgang:writing");
        }
      }
      window.clearTimeout(stopWriting);
      stopWriting = window.setTimeout(function () {
        if (flag && flag.value === kind) {
          flag.value = "";
        }
      }, WRITING_FOR_MS);
    }

    function changed(event) {
      if (event.target && event.target.type === "file") {
        return; // files cannot be kept in a draft
      }
      writing();
      window.clearTimeout(timer);
      timer = window.setTimeout(save, DRAFT_DELAY_MS);
    }

    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", function () {
      // The server drops the draft when the text is sent; a late save must not revive it.
      sent = true;
      window.clearTimeout(timer);
    });
  }

  // --- changes by others ---------------------------------------------------------------------

  // The parts of the case view that show the case (never its forms, which may hold input).
  var REGIONS = [".desk-case-title", ".desk-facts", ".desk-history tbody"];

  function timelineOf(doc) {
    var heading = doc.getElementById("timeline-heading");
    return heading ? heading.nextElementSibling : null;
  }

  function swap(current, fresh) {
    if (!current || !fresh) {
      return;
    }
    var active = document.activeElement;
    var focusId = active && current.contains(active) ? active.id : "";
    var copy = document.importNode(fresh, true);
    current.replaceWith(copy);
    if (window.htmx) {
      window.htmx.process(copy);
    }
    if (focusId) {
      var again = document.getElementById(focusId);
      if (again) {
        again.focus({ preventScroll: true });
      }
    }
  }

  // The page shows the newest messages and a control for the older ones. Once they are all
  // on the page (loaded with the control, or few enough), the refresh asks for all of them,
  // so that swapping the timeline does not take the loaded ones away again.
  function pageUrl() {
    var url = new URL(window.location.href);
    url.hash = "";
    if (!document.getElementById("timeline-older")) {
      url.searchParams.set("all", "1");
    }
    return url.toString();
  }

  // A history table loaded on opening its section (a long history) is fetched anew.
  function refreshHistory() {
    var section = document.querySelector(".desk-history[data-history-url]");
    var current = section && section.querySelector("tbody");
    if (!current) {
      return;
    }
    fetch(section.getAttribute("data-history-url"), {
      credentials: "same-origin",
      headers: { "HX-Request": "true" },
    })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        swap(current, doc.querySelector("tbody"));
      })
      .catch(function () {});
  }

  function refreshCase(summary) {
    var known = {};
    document.querySelectorAll(".desk-article[id]").forEach(function (el) {
      known[el.id] = true;
    });
    refreshHistory();
    fetch(pageUrl(), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" },
    })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        swap(timelineOf(document), timelineOf(doc));
        REGIONS.forEach(function (selector) {
          swap(document.querySelector(selector), doc.querySelector(selector));
        });
        document.querySelectorAll(".desk-article[id]").forEach(function (el) {
          if (!known[el.id]) {
            el.classList.add("desk-article--fresh");
          }
        });
        announce(summary);
      })
      .catch(function () {
        announce(summary);
      });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.elt;
    var poller = document.getElementById("case-live");
    if (!poller || (target !== poller && !(target && target.contains && target.contains(poller)))) {
      return;
    }
    var summary = poller.getAttribute("data-summary");
    if (summary) {
      poller.removeAttribute("data-summary");
      refreshCase(summary);
    }
  });

  // --- leaving ----------------------------------------------------------------------------------

  function sayGoodbye() {
    var box = root();
    if (!box || !navigator.sendBeacon) {
      return;
    }
    var body = new FormData();
    body.append("csrfmiddlewaretoken", box.getAttribute("data-csrf"));
    navigator.sendBeacon(box.getAttribute("data-leave-url"), body);
  }

  // --- counts in the navigation ---------------------------------------------------------------

  function pollNav() {
    var nav = document.querySelector("[data-live-nav]");
    if (!nav) {
      return;
    }
    window.setInterval(function () {
      var current = document.querySelector("[data-live-nav]");
      if (!current) {
        return;
      }
      fetch(current.getAttribute("data-live-nav"), { credentials: "same-origin" })
        .then(function (response) {
          return response.status === 200 ? response.text() : "";
        })
        .then(function (html) {
          if (!html) {
            return;
          }
          var doc = new DOMParser().parseFromString(html, "text/html");
          swap(current, doc.querySelector("[data-live-nav]"));
        })
        .catch(function () {});
    }, NAV_EVERY_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    pollNav();
    if (!root()) {
      return;
    }
    restoreDrafts();
    watchForm("reply");
    watchForm("note");
    window.addEventListener("pagehide", sayGoodbye);
  });
})();
