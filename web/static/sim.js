// Passerelle terminal simulator: a payment terminal in the browser. It
// speaks the terminal protocol over the gateway's own WebSocket, as a
// terminal app does, so a manager can try a scenario without hardware:
// passerelle.v1.1 (a list refreshed by a change comes as a list_delta),
// or passerelle.v1 with a gateway that offers no more. The card step is simulated: the manager approves or
// declines. Whatever comes from the gateway (screens built from the tills'
// tickets, receipts) is put in the page as text, never as markup.
(function () {
  "use strict";

  var root = document.getElementById("sim");
  if (!root || !window.WebSocket || !window.fetch || !window.sessionStorage || !window.JSON) {
    return;
  }

  var V11 = "passerelle.v1.1";
  var PROTOCOLS = [V11, "passerelle.v1"]; // the newest first: the gateway picks
  var MERCHANT_ID = "0000015000";
  var BANK_TERMINAL_ID = "02189020000";
  var T = root.dataset;

  function $(id) { return document.getElementById(id); }
  var ui = {
    status: root.querySelector(".sim-status"),
    pair: $("sim-pair"), forget: $("sim-forget"),
    screen: $("sim-screen"), title: $("sim-title"), lines: $("sim-lines"), items: $("sim-items"),
    error: $("sim-error"), card: $("sim-card"), cardText: $("sim-card-text"),
    approve: $("sim-approve"), decline: $("sim-decline"),
    input: $("sim-input"), f1: $("sim-f1"), f2: $("sim-f2"), f4: $("sim-f4"), ok: $("sim-ok"), cancel: $("sim-cancel"),
    receipts: $("sim-receipts"), noReceipt: $("sim-no-receipt"), log: $("sim-log")
  };

  // The terminal's memory lasts as long as the tab: its serial, its token,
  // and the payments whose result the gateway has not acknowledged yet.
  var KEY = "passerelle.sim.";
  function load(name) {
    try {
      return JSON.parse(sessionStorage.getItem(KEY + name));
    } catch (e) {
      return null;
    }
  }
  function store(name, v) {
    if (v === null || v === undefined) {
      sessionStorage.removeItem(KEY + name);
    } else {
      sessionStorage.setItem(KEY + name, JSON.stringify(v));
    }
  }
  function payments() { return load("payments") || {}; }
  function savePayment(p) {
    var all = payments();
    all[p.payment_id] = p;
    store("payments", all);
  }
  function dropPayment(id) {
    var all = payments();
    delete all[id];
    store("payments", all);
  }

  function digits(n) {
    var a = new Uint32Array(n);
    window.crypto.getRandomValues(a);
    var s = "";
    for (var i = 0; i < n; i++) {
      s += String(a[i] % 10);
    }
    return s;
  }

  var serial = load("serial");
  if (!serial) {
    serial = "WEB" + digits(8);
    store("serial", serial);
  }

  // A card step the page left (a reload) never completed: nothing was
  // charged, so its result is "cancelled", sent once connected.
  (function () {
    var all = payments();
    Object.keys(all).forEach(function (id) {
      if (!all[id].result) {
        all[id].result = cardResult(all[id], "cancelled");
      }
    });
    store("payments", all);
  })();

  var ws = null;
  var welcomed = false;
  var v11 = false; // the connection speaks passerelle.v1.1
  var screen = null; // the screen shown, as the gateway sent it (a menu's version with it)
  var card = null; // the pay request whose card step is shown
  var retryTimer = null;
  var backoff = 1000;
  var screenTimer = null;

  function fmt(s, arg) { return String(s).replace("%s", arg); }

  function money(cents, currency) {
    var neg = cents < 0;
    var n = Math.abs(cents);
    var units = String(Math.floor(n / 100));
    var c = String(n % 100);
    if (c.length < 2) {
      c = "0" + c;
    }
    return (neg ? "-" : "") + units + "," + c + (currency ? " " + currency : "");
  }

  function setState(state, text) {
    root.setAttribute("data-state", state);
    document.body.setAttribute("data-sim", state);
    ui.status.textContent = text;
    var paired = !!load("token");
    ui.pair.hidden = paired;
    ui.forget.hidden = !paired;
  }

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = !text;
  }

  // log keeps the last messages both ways, secrets left out.
  function log(dir, m) {
    var text = JSON.stringify(m, function (k, v) {
      return (k === "token" || k === "pairing_code") && v ? "…" : v;
    });
    var li = document.createElement("li");
    li.textContent = dir + " " + text;
    keepLog(li);
  }

  // note says in the log what the page did of a message.
  function note(text) {
    var li = document.createElement("li");
    li.className = "note";
    li.textContent = "· " + text;
    keepLog(li);
  }

  function keepLog(li) {
    ui.log.insertBefore(li, ui.log.firstChild);
    while (ui.log.children.length > 60) {
      ui.log.removeChild(ui.log.lastChild);
    }
  }

  // count adds one to a counter shown as a data attribute of the
  // simulator (data-deltas, data-snapshots), for whoever inspects it.
  function count(name) {
    root.setAttribute("data-" + name, String(Number(root.getAttribute("data-" + name) || 0) + 1));
  }

  function send(m) {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return false;
    }
    log("→", m);
    ws.send(JSON.stringify(m));
    return true;
  }

  function connect(code) {
    clearTimeout(retryTimer);
    if (ws) {
      ws.onclose = null;
      ws.close();
    }
    welcomed = false;
    v11 = false;
    var refused = false;
    setState("connecting", T.tConnecting);
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var sock = new WebSocket(scheme + "//" + window.location.host + "/ws/terminal", PROTOCOLS);
    ws = sock;
    sock.onopen = function () {
      // The gateway's choice: an older one answers passerelle.v1.
      v11 = sock.protocol === V11;
      root.setAttribute("data-protocol", sock.protocol);
      note(fmt(T.tProtocol, sock.protocol));
      var hello = { type: "hello", serial: serial, model: "web-sim", app_version: "passerelle-sim.js",
        display: { cols: 16, rows: 16 }, printer: { cols: 32 }, keys: ["F1", "F2", "F4"] };
      if (code) {
        hello.pairing_code = code;
      } else {
        hello.token = load("token");
      }
      send(hello);
    };
    sock.onmessage = function (e) {
      var m;
      try {
        m = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      log("←", m);
      if (!welcomed) {
        if (m.type === "welcome") {
          welcome(m);
        } else if (m.type === "error" && (m.code === "unauthorized" || m.code === "too_many_tries")) {
          refused = true;
          store("token", null);
        }
        return;
      }
      handle(m);
    };
    sock.onclose = function () {
      if (ws !== sock) {
        return;
      }
      ws = null;
      welcomed = false;
      card = null;
      ui.card.hidden = true;
      idle();
      if (refused) {
        setState("refused", T.tRefused);
      } else if (load("token")) {
        setState("offline", T.tOffline);
        retryTimer = setTimeout(function () { connect(null); }, backoff);
        backoff = Math.min(backoff * 2, 30000);
      } else {
        setState("off", T.tOff);
      }
    };
  }

  function welcome(m) {
    welcomed = true;
    backoff = 1000;
    if (m.token) {
      store("token", m.token);
    }
    store("terminal", { id: m.terminal_id, name: m.name });
    root.setAttribute("data-terminal-id", m.terminal_id);
    setState("online", fmt(T.tOnline, m.name));
    showError("");
    idle();
    // Results the gateway did not acknowledge go again; it keeps the first.
    var all = payments();
    Object.keys(all).forEach(function (id) {
      if (all[id].result) {
        send(all[id].result);
      }
    });
  }

  function handle(m) {
    switch (m.type) {
      case "screen":
        showScreen(m);
        break;
      case "list_delta":
        if (v11) {
          listDelta(m);
        }
        break;
      case "done":
        done(m);
        break;
      case "pay":
        startCard(m);
        break;
      case "print":
        printReceipt(m);
        send({ type: "printed", job_id: m.job_id });
        break;
      case "ack":
        dropPayment(m.payment_id);
        break;
      case "status_request":
        status(m.payment_id);
        break;
      case "abort":
        abort(m.payment_id);
        break;
      case "error":
        showError(fmt(T.tError, m.message || m.code));
        break;
    }
  }

  // listDelta shows the menu that delta d makes of the menu shown. When d
  // does not follow it (a frame lost, a screen left meanwhile), nothing
  // changes on screen and the page asks for the menu whole: the gateway
  // answers with a screen, which replaces whatever is shown.
  function listDelta(d) {
    var m = applyDelta(screen, d);
    if (!m) {
      count("snapshots");
      note(T.tSnapshot);
      var ask = { type: "snapshot" };
      if (screen) {
        ask.screen_id = screen.screen_id;
      }
      send(ask);
      return;
    }
    count("deltas");
    note(fmt(T.tDelta, m.version));
    showScreen(m);
  }

  // applyDelta returns the menu that delta d makes of shown, the screen
  // shown (null for none), as if the gateway had sent it whole: d's
  // screen_id and version, shown's title, the items changed. It returns
  // null, changing nothing, when d does not apply (docs/terminal-protocol.md,
  // "list_delta"): shown is not a menu of version d.from, or an id removed
  // or changed is not on it, or one added is.
  function applyDelta(shown, d) {
    if (!shown || shown.kind !== "menu" || typeof shown.version !== "number" || d.from !== shown.version ||
        d.version !== d.from + 1 || typeof d.screen_id !== "string") {
      return null;
    }
    var removed = d.removed || [], changed = d.changed || [], added = d.added || [];
    if (!Array.isArray(removed) || !Array.isArray(changed) || !Array.isArray(added)) {
      return null;
    }
    var items = (shown.items || []).slice();
    function at(id) {
      for (var i = 0; i < items.length; i++) {
        if (items[i].id === id) {
          return i;
        }
      }
      return -1;
    }
    var i, k, it;
    for (k = 0; k < removed.length; k++) {
      i = at(removed[k]);
      if (typeof removed[k] !== "string" || i < 0) {
        return null;
      }
      items.splice(i, 1);
    }
    for (k = 0; k < changed.length; k++) {
      it = changed[k];
      i = it ? at(it.id) : -1;
      if (i < 0 || typeof it.id !== "string" || typeof it.label !== "string") {
        return null;
      }
      items[i] = { id: it.id, label: it.label };
    }
    for (k = 0; k < added.length; k++) {
      it = added[k];
      var after = it && it.after !== undefined ? it.after : "";
      if (!it || typeof it.id !== "string" || typeof it.label !== "string" || typeof after !== "string" || at(it.id) >= 0) {
        return null; // an id added twice is on the menu by its second time
      }
      var pos = 0;
      if (after !== "") {
        pos = at(after) + 1;
        if (pos === 0) {
          return null;
        }
      }
      items.splice(pos, 0, { id: it.id, label: it.label });
    }
    var m = {};
    Object.keys(shown).forEach(function (name) { m[name] = shown[name]; });
    m.screen_id = d.screen_id;
    m.version = d.version;
    m.items = items;
    if (typeof d.more === "boolean") {
      m.more = d.more;
    }
    return m;
  }

  function clearScreen(kind) {
    clearTimeout(screenTimer);
    ui.screen.setAttribute("data-kind", kind);
    ui.screen.removeAttribute("data-screen-id");
    ui.title.textContent = "";
    ui.lines.textContent = "";
    while (ui.items.firstChild) {
      ui.items.removeChild(ui.items.firstChild);
    }
    ui.input.value = "";
    ui.input.disabled = true;
  }

  function idle() {
    screen = null;
    clearScreen("idle");
    var term = load("terminal");
    ui.title.textContent = T.tIdle;
    if (term && welcomed) {
      ui.lines.textContent = term.name;
    }
  }

  function showScreen(m) {
    screen = m;
    showError("");
    clearScreen(m.kind);
    ui.screen.setAttribute("data-screen-id", m.screen_id);
    ui.title.textContent = m.title || "";
    var lines = (m.lines || []).slice();
    if (m.kind === "ticket") {
      if (typeof m.total === "number") {
        lines.push(T.tTotal + " " + money(m.total));
      }
      if (typeof m.due === "number") {
        lines.push(T.tDue + " " + money(m.due));
      }
    }
    ui.lines.textContent = lines.join("\n");
    var list = m.kind === "menu" ? m.items : m.choices;
    (list || []).forEach(function (it, i) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = it.label;
      b.setAttribute("data-id", it.id);
      b.setAttribute("data-testid", m.kind === "menu" ? "sim-item" : "sim-choice");
      if (i === 0) {
        b.className = "first";
      }
      b.addEventListener("click", function () { answer(it.id); });
      ui.items.appendChild(b);
    });
    if (m.kind === "menu" && m.page) {
      pageButtons(m);
    }
    if (m.kind === "input") {
      ui.input.disabled = false;
      ui.input.setAttribute("inputmode", m.input === "numeric" ? "numeric" : "text");
      if (m.max) {
        ui.input.maxLength = m.max;
      } else {
        ui.input.removeAttribute("maxlength");
      }
      ui.input.focus();
    }
    if (m.kind === "message" && m.timeout_s > 0) {
      // A terminal moves on by itself once the message was seen.
      var id = m.screen_id;
      screenTimer = setTimeout(function () {
        if (screen && screen.screen_id === id) {
          answer("");
        }
      }, m.timeout_s * 1000);
    }
  }

  // pageButtons adds, under a paged menu (v1.1, pages of display.rows - 1
  // tickets), the buttons that turn to the page before and after.
  function pageButtons(m) {
    var turns = [];
    if (m.page > 1) {
      turns.push({ page: m.page - 1, label: fmt(T.tPagePrev, m.page - 1), testid: "sim-page-prev" });
    }
    if (m.more) {
      turns.push({ page: m.page + 1, label: fmt(T.tPageNext, m.page + 1), testid: "sim-page-next" });
    }
    turns.forEach(function (t) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "sim-page";
      b.textContent = t.label;
      b.setAttribute("data-testid", t.testid);
      b.addEventListener("click", function () {
        if (screen && screen.screen_id === m.screen_id) {
          send({ type: "page", screen_id: m.screen_id, page: t.page });
        }
      });
      ui.items.appendChild(b);
    });
  }

  function done(m) {
    screen = null;
    if (!m.title) {
      // Nothing to show: idle at once, whatever timeout_s says.
      idle();
      return;
    }
    clearScreen("done");
    ui.title.textContent = m.title;
    // The gateway's own ends say why: "Aucun ticket", "pour la table 9".
    ui.lines.textContent = (m.lines || []).join("\n");
    if (m.timeout_s > 0) {
      screenTimer = setTimeout(idle, m.timeout_s * 1000);
    }
  }

  function answer(value) {
    if (!screen) {
      return;
    }
    send({ type: "answer", screen_id: screen.screen_id, value: value });
  }

  function ok() {
    if (!screen) {
      return;
    }
    switch (screen.kind) {
      case "input":
        answer(ui.input.value.trim());
        break;
      case "message":
        answer("");
        break;
      default: {
        var first = ui.items.querySelector("button");
        if (first) {
          answer(first.getAttribute("data-id"));
        }
      }
    }
  }

  function cancel() {
    if (card) {
      finishCard("cancelled"); // the cardholder gave up at the card step
      return;
    }
    if (screen) {
      send({ type: "cancel", screen_id: screen.screen_id });
    }
    idle();
  }

  function startCard(m) {
    screen = null;
    clearScreen("pay");
    ui.title.textContent = (m.label || "") + " " + money(m.amount + (m.tip || 0), m.currency);
    ui.lines.textContent = m.ticket_ref ? "TICKET " + m.ticket_ref : "";
    var known = payments()[m.payment_id];
    if (known && known.result) {
      send(known.result); // a copy of a request already answered
      return;
    }
    savePayment({ payment_id: m.payment_id, amount: m.amount, tip: m.tip || 0, currency: m.currency,
      ticket_ref: m.ticket_ref, label: m.label, result: null });
    card = m;
    ui.cardText.textContent = fmt(T.tCard, money(m.amount + (m.tip || 0), m.currency));
    ui.card.hidden = false;
    ui.card.setAttribute("data-payment-id", m.payment_id);
  }

  // finishCard ends the card step shown: the result is stored before it is
  // sent, as a terminal's bank kernel does.
  function finishCard(status) {
    if (!card) {
      return;
    }
    var p = payments()[card.payment_id];
    card = null;
    ui.card.hidden = true;
    if (!p) {
      return;
    }
    p.result = cardResult(p, status);
    savePayment(p);
    send(p.result);
  }

  function cardResult(p, status) {
    var r = { type: "payment_result", payment_id: p.payment_id, status: status, amount: p.amount,
      tip: p.tip || 0, currency: p.currency, at: new Date().toISOString() };
    if (status === "cancelled" || status === "error") {
      return r; // no card was read
    }
    // Only the last four digits ever leave the bank kernel.
    r.card = { scheme: "CB", masked_pan: "#####" + digits(4), entry: "chip" };
    r.merchant_id = MERCHANT_ID;
    r.terminal_id = BANK_TERMINAL_ID;
    if (status === "approved") {
      r.auth_code = digits(6);
      r.transaction_ref = r.auth_code + "D" + digits(6) + "D";
    }
    var lines = ["CARTE BANCAIRE", MERCHANT_ID, "CB", "LE " + new Date().toLocaleString("fr-FR"), BANK_TERMINAL_ID];
    if (r.auth_code) {
      lines.push("AUTO : " + r.auth_code);
    }
    lines.push(r.card.masked_pan);
    if (r.transaction_ref) {
      lines.push(r.transaction_ref);
    }
    lines.push("", "MONTANT :", money(p.amount + (p.tip || 0), p.currency), p.label || "DÉBIT");
    if (status !== "approved") {
      lines.push("PAIEMENT REFUSÉ");
    }
    r.receipt = lines.concat(["TICKET CLIENT", "A CONSERVER"]);
    return r;
  }

  // status answers the gateway asking, after a reconnection, how a payment
  // ended: with the stored result, or not_found if no card step started.
  function status(id) {
    var p = payments()[id];
    if (p && p.result) {
      send(p.result);
    } else if (p) {
      send({ type: "payment_state", payment_id: id, status: "pending" });
    } else {
      send({ type: "payment_state", payment_id: id, status: "not_found" });
    }
  }

  function abort(id) {
    if (card && card.payment_id === id) {
      finishCard("cancelled");
      return;
    }
    status(id);
  }

  // A receipt stays on the page, as paper does, across a reload.
  function printReceipt(m) {
    var kept = (load("receipts") || []).concat([{ job_id: m.job_id, lines: m.lines || [] }]);
    store("receipts", kept.slice(-12));
    showReceipt(m);
  }

  function showReceipt(m) {
    var fig = document.createElement("figure");
    fig.className = "sim-receipt";
    fig.setAttribute("data-testid", "sim-receipt");
    fig.setAttribute("data-job-id", m.job_id);
    var pre = document.createElement("pre");
    pre.textContent = (m.lines || []).join("\n");
    fig.appendChild(pre);
    ui.receipts.insertBefore(fig, ui.receipts.firstChild);
    while (ui.receipts.children.length > 12) {
      ui.receipts.removeChild(ui.receipts.lastChild);
    }
    ui.noReceipt.hidden = true;
  }

  function pair() {
    ui.pair.disabled = true;
    var meta = document.querySelector('meta[name="csrf-token"]');
    fetch("/simulator/pair", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": meta ? meta.content : "", "Accept": "application/json" }
    })
      .then(function (r) {
        if (!r.ok) {
          throw new Error(String(r.status));
        }
        return r.json();
      })
      .then(function (a) {
        connect(a.code);
      })
      .catch(function () {
        setState("off", T.tPairFailed);
      })
      .then(function () {
        ui.pair.disabled = false;
      });
  }

  function forget() {
    store("token", null);
    store("terminal", null);
    clearTimeout(retryTimer);
    if (ws) {
      var s = ws;
      ws = null;
      s.close();
    }
    welcomed = false;
    card = null;
    ui.card.hidden = true;
    idle();
    setState("off", T.tOff);
  }

  function key(k) {
    showError("");
    send({ type: "start", key: k });
  }

  ui.pair.addEventListener("click", pair);
  ui.forget.addEventListener("click", forget);
  ui.f1.addEventListener("click", function () { key("F1"); });
  ui.f2.addEventListener("click", function () { key("F2"); });
  ui.f4.addEventListener("click", function () { key("F4"); }); // duplicata
  ui.ok.addEventListener("click", ok);
  ui.cancel.addEventListener("click", cancel);
  ui.approve.addEventListener("click", function () { finishCard("approved"); });
  ui.decline.addEventListener("click", function () { finishCard("declined"); });
  ui.input.addEventListener("keydown", function (e) {
    if (e.key === "Enter") {
      e.preventDefault();
      ok();
    }
  });

  (load("receipts") || []).forEach(showReceipt);
  idle();
  if (load("token")) {
    connect(null);
  } else {
    setState("off", T.tOff);
  }
})();
