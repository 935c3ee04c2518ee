// Writing in the case view: text modules ("::" or the button) and the Reply buttons.
// Progressive enhancement: without this file the forms still work (no text modules).
(function () {
  "use strict";

  var modules = [];
  var words = {};
  var picker = null; // the open picker: {box, input, list, status, textarea, trigger, options, active}

  function readData() {
    var data = document.getElementById("desk-text-modules");
    var wordsEl = document.getElementById("desk-text-module-words");
    try {
      modules = data ? JSON.parse(data.textContent) : [];
    } catch (e) {
      modules = [];
    }
    words = wordsEl ? wordsEl.dataset : {};
  }

  function norm(text) {
    return (text || "").toLocaleLowerCase();
  }

  function matches(module, query) {
    var q = norm(query).trim();
    if (!q) {
      return true;
    }
    var haystack = norm(module.name + " " + module.keywords + " " + module.text);
    return q.split(/\s+/).every(function (part) {
      return haystack.indexOf(part) !== -1;
    });
  }

  function close(returnFocus) {
    if (!picker) {
      return;
    }
    var textarea = picker.textarea;
    var box = picker.box;
    picker = null;
    // Focus first, then remove: a focused element that disappears leaves focus nowhere.
    if (returnFocus) {
      textarea.focus();
    }
    box.remove();
  }

  function setActive(index) {
    if (!picker) {
      return;
    }
    var options = picker.list.querySelectorAll("[role=option]");
    if (!options.length) {
      picker.active = -1;
      picker.input.removeAttribute("aria-activedescendant");
      return;
    }
    index = (index + options.length) % options.length;
    options.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    picker.active = index;
    picker.input.setAttribute("aria-activedescendant", options[index].id);
    options[index].scrollIntoView({ block: "nearest" });
  }

  function filter() {
    var query = picker.input.value;
    picker.list.textContent = "";
    picker.shown = modules.filter(function (m) {
      return matches(m, query);
    });
    picker.shown.forEach(function (module, i) {
      var option = document.createElement("li");
      option.setAttribute("role", "option");
      option.id = picker.input.id + "-option-" + i;
      option.className = "desk-tm__option";
      var name = document.createElement("span");
      name.className = "desk-tm__name";
      name.textContent = module.name;
      var preview = document.createElement("span");
      preview.className = "desk-tm__preview";
      preview.textContent = module.text.slice(0, 120);
      option.appendChild(name);
      option.appendChild(preview);
      option.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep focus in the search field until inserted
      });
      option.addEventListener("click", function () {
        insert(module);
      });
      picker.list.appendChild(option);
    });
    var count = picker.shown.length;
    picker.status.textContent =
      count === 0 ? words.none : count === 1 ? words.one : (words.many || "").replace("%(count)s", count);
    setActive(count ? 0 : -1);
  }

  function insert(module) {
    var textarea = picker.textarea;
    var start = picker.start;
    var end = picker.end;
    var value = textarea.value;
    if (picker.trigger && value.slice(start - 2, start) === "::") {
      start -= 2;
    }
    textarea.value = value.slice(0, start) + module.text + value.slice(end);
    var caret = start + module.text.length;
    close(true);
    textarea.setSelectionRange(caret, caret);
    textarea.dispatchEvent(new Event("input", { bubbles: true })); // drafts notice it
  }

  function open(textarea, trigger) {
    close(false);
    var id = textarea.id + "-tm";
    var box = document.createElement("div");
    box.className = "desk-tm";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", words.title);
    var label = document.createElement("label");
    label.className = "kern-label";
    label.htmlFor = id + "-search";
    label.textContent = words.search;
    var hint = document.createElement("p");
    hint.className = "kern-hint";
    hint.id = id + "-hint";
    hint.textContent = words.hint;
    var input = document.createElement("input");
    input.type = "text";
    input.id = id + "-search";
    input.className = "kern-form-input__input";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-expanded", "true");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", id + "-list");
    input.setAttribute("aria-describedby", id + "-hint");
    var list = document.createElement("ul");
    list.id = id + "-list";
    list.className = "desk-tm__list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", words.list);
    var status = document.createElement("p");
    status.className = "kern-sr-only";
    status.setAttribute("role", "status");
    box.appendChild(label);
    box.appendChild(hint);
    box.appendChild(input);
    box.appendChild(list);
    box.appendChild(status);
    textarea.insertAdjacentElement("afterend", box);
    picker = {
      box: box,
      input: input,
      list: list,
      status: status,
      textarea: textarea,
      trigger: trigger,
      start: textarea.selectionStart,
      end: textarea.selectionEnd,
      shown: [],
      active: -1,
    };
    input.addEventListener("input", filter);
    input.addEventListener("keydown", onKey);
    box.addEventListener("focusout", function (event) {
      if (picker && !box.contains(event.relatedTarget)) {
        close(false);
      }
    });
    filter();
    input.focus();
  }

  function onKey(event) {
    if (!picker) {
      return;
    }
    if (event.key === "ArrowDown") {
      event.preventDefault();
      setActive(picker.active + 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive(picker.active - 1);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (picker.active >= 0 && picker.shown[picker.active]) {
        insert(picker.shown[picker.active]);
      }
    } else if (event.key === "Escape") {
      event.preventDefault();
      close(true);
    }
  }

  function setUpTextarea(textarea) {
    textarea.addEventListener("input", function (event) {
      if (event.inputType && event.inputType.indexOf("insert") !== 0) {
        return;
      }
      var at = textarea.selectionStart;
      if (at >= 2 && textarea.value.slice(at - 2, at) === "::" && modules.length) {
        open(textarea, true);
      }
    });
    var button = document.querySelector("[data-text-module-button='" + textarea.id + "']");
    if (button && modules.length) {
      button.hidden = false;
      button.addEventListener("click", function () {
        open(textarea, false);
      });
    }
  }

  // "Reply" on an article: answer that message, with its quote, without leaving the page.
  function setUpReplyLinks() {
    var form = document.querySelector("form.desk-reply-form");
    if (!form) {
      return;
    }
    var target = form.querySelector("input[name=reply_to]");
    var quote = form.querySelector("input[name=quote]");
    var label = form.querySelector("[data-quote-label]");
    var preview = form.querySelector("[data-quote-preview]");
    var text = form.querySelector("textarea[name=text]");
    // Delegated: the timeline is replaced when others write (live.js), its buttons too.
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-reply-to]");
      if (!link || !target || !quote || !text) {
        return;
      }
      event.preventDefault();
      target.value = link.dataset.replyTo;
      quote.checked = true;
      if (label) {
        label.textContent = link.dataset.replyLabel;
      }
      if (preview) {
        preview.hidden = true; // it showed another message
      }
      text.scrollIntoView({ block: "center" });
      text.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    readData();
    document.querySelectorAll("textarea[data-text-modules]").forEach(setUpTextarea);
    setUpReplyLinks();
  });
})();
