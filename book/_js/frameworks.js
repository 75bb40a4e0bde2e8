/* The reader's framework, remembered across pages and visits (localStorage: no network, no
   kernel, and it works from files on disk). It is applied to <html> as soon as this script
   runs in <head>, before the page is drawn, so the other frameworks never flash into view;
   the rules book/_ext/book_extras.py writes into the page hide them. Pages with framework content get a switch at the top,
   and their launch links open the chosen framework's notebook. */
(function () {
  "use strict";
  var KEY = "d2l-framework";
  // [name, title] of each framework, the default first (book/_ext/book_extras.py)
  var FRAMEWORKS = window.BOOK_FRAMEWORKS;
  if (!FRAMEWORKS) return; // a page the book did not build
  var DEFAULT = FRAMEWORKS[0][0];

  function known(name) {
    return FRAMEWORKS.some(function (f) { return f[0] === name; });
  }

  function stored() {
    try {
      var name = window.localStorage.getItem(KEY);
      return known(name) ? name : DEFAULT;
    } catch (e) {
      return DEFAULT; // storage disabled: every page starts with the default
    }
  }

  function apply(name) {
    document.documentElement.setAttribute("data-framework", name);
    var buttons = document.querySelectorAll(".framework-switch button");
    buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.framework === name));
    });
    retargetLaunchLinks(name);
  }

  function choose(name) {
    try {
      window.localStorage.setItem(KEY, name);
    } catch (e) { /* not remembered, still applied */ }
    apply(name);
  }

  // <page>.ipynb is PyTorch's notebook; <page>.<framework>.ipynb another framework's.
  var NOTEBOOK = new RegExp("/([^/?#]+?)(?:\\.(?:" +
    FRAMEWORKS.slice(1).map(function (f) { return f[0]; }).join("|") + "))?\\.ipynb$");

  function retargetLaunchLinks(name) {
    // only where every code cell is one framework's: a page of PyTorch code with additions
    // for the other frameworks launches its PyTorch notebook whatever the choice
    if (!document.querySelector(".tag_fw-" + DEFAULT)) return;
    var page = window.location.pathname.split("/").pop().replace(/\.html$/, "");
    var suffix = name === DEFAULT ? "" : "." + name;
    document.querySelectorAll(".dropdown-launch-buttons a, .dropdown-download-buttons a")
      .forEach(function (link) {
        var href = link.getAttribute("href");
        var match = href && href.match(NOTEBOOK);
        if (match && match[1] === page) {
          link.setAttribute("href", href.replace(NOTEBOOK, "/" + page + suffix + ".ipynb"));
        }
      });
  }

  function addSwitch() {
    if (!document.querySelector("[class*='tag_fw-'], .fw-only")) return;
    var heading = document.querySelector("article.bd-article h1") || document.querySelector("article h1");
    if (!heading) return;
    var group = document.createElement("div");
    group.className = "framework-switch";
    group.setAttribute("role", "group");
    group.setAttribute("aria-labelledby", "framework-switch-label");
    var label = document.createElement("span");
    label.id = "framework-switch-label";
    label.className = "framework-switch-label";
    label.textContent = "Framework:";
    group.appendChild(label);
    FRAMEWORKS.forEach(function (f) {
      var button = document.createElement("button");
      button.type = "button";
      button.dataset.framework = f[0];
      button.textContent = f[1];
      button.addEventListener("click", function () { choose(f[0]); });
      group.appendChild(button);
    });
    heading.insertAdjacentElement("afterend", group);
  }

  document.documentElement.setAttribute("data-framework", stored());
  document.addEventListener("DOMContentLoaded", function () {
    addSwitch();
    apply(stored());
  });
  // another tab of the book changed the framework
  window.addEventListener("storage", function (event) {
    if (event.key === KEY) apply(stored());
  });
})();
