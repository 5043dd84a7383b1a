// Passerelle admin page: live updates and small conveniences. Every page
// works without this file; it only spares the manager a reload.
(function () {
  "use strict";

  // Forms that change something important ask first.
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
    }
  });

  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-print]")) {
      window.print();
    }
  });

  var regions = document.querySelectorAll("[data-live]");
  if (!regions.length || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }

  var timer = null;
  var running = false;
  var again = false;
  var updates = 0;

  // refresh fetches this page again and swaps in its live regions, except
  // one the manager is typing in.
  function refresh() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || !r.ok) {
          // Logged out, or the page is gone: let the browser show why.
          if (r.redirected) {
            window.location.reload();
          }
          return null;
        }
        return r.text();
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          if (!el.id || el.contains(document.activeElement)) {
            return;
          }
          var fresh = doc.getElementById(el.id);
          if (fresh) {
            el.replaceWith(document.importNode(fresh, true));
          }
        });
        updates++;
        document.body.setAttribute("data-live-updates", String(updates));
      })
      .catch(function () {})
      .then(function () {
        running = false;
        if (again) {
          again = false;
          schedule();
        }
      });
  }

  // schedule refreshes the page soon, once for a burst of changes. A
  // refresh already due is not pushed back: under a steady flow of changes
  // (a busy evening) the page still keeps up.
  function schedule() {
    if (timer !== null) {
      return;
    }
    timer = setTimeout(function () {
      timer = null;
      refresh();
    }, 50);
  }

  var lost = false;
  var es = new EventSource("/admin/events");
  es.addEventListener("open", function () {
    document.body.setAttribute("data-stream", "on");
    if (lost) {
      lost = false;
      schedule(); // events may have passed while the stream was down
    }
  });
  es.addEventListener("error", function () {
    lost = true;
    document.body.setAttribute("data-stream", "off");
  });
  es.addEventListener("change", schedule);
  es.addEventListener("terminals", schedule);
  es.addEventListener("expired", function () {
    es.close();
    window.location.reload();
  });
})();
