// The review page's keyboard and in-place updates. Plain JavaScript, no build, no CDN.
// j/k move between suggestions, a accepts, r rejects, u undoes your last decision (single or bulk).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : "";
  var status = document.getElementById("status");
  var UNDO = "nrtd-undo";
  var messages = readMessages();

  // The page's language: the server puts this page's catalogue (English text -> translation) in a JSON data
  // block (not executed, so the Content-Security-Policy allows it); a missing text shows in English.
  function readMessages() {
    var el = document.getElementById("i18n");
    try { return el ? JSON.parse(el.textContent) || {} : {}; } catch (e) { return {}; }
  }
  function tr(key, vars) {
    var s = Object.prototype.hasOwnProperty.call(messages, key) ? String(messages[key]) : String(key);
    return s.replace(/\{(\w+)\}/g, function (m, k) { return vars && k in vars ? String(vars[k]) : m; });
  }

  function say(msg, bad) {
    if (!status) return;
    status.textContent = msg;
    status.className = bad ? "error" : "";
  }
  function undoStack() {
    try { return JSON.parse(sessionStorage.getItem(UNDO) || "[]"); } catch (e) { return []; }
  }
  function pushUndo(ids) { var s = undoStack(); s.push(ids); sessionStorage.setItem(UNDO, JSON.stringify(s.slice(-50))); }
  function popUndo() { var s = undoStack(); var x = s.pop(); sessionStorage.setItem(UNDO, JSON.stringify(s)); return x; }

  function post(url, data) {
    return fetch(url, {method: "POST", body: data, credentials: "same-origin",
                       headers: {"Accept": "application/json", "X-CSRF-Token": csrf}})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) { return {ok: r.ok, status: r.status, body: j}; });
      });
  }
  function problem(res) {
    var d = res.body && res.body.detail;
    return (d && (d.shown || d.message)) || tr("request failed ({status})", {status: res.status});
  }

  var slots = Array.prototype.slice.call(document.querySelectorAll("tr.slot"));
  var cur = -1;
  function rowFor(el) { while (el && !(el.classList && el.classList.contains("slot"))) el = el.parentNode; return el; }
  function setState(row, review) {
    row.dataset.review = review ? review.id : "";
    row.dataset.state = review ? review.decision : "pending";
    row.querySelector(".decision").textContent = review
      ? tr("{decision} by {reviewer}", {decision: tr(review.decision), reviewer: review.reviewer})
      : tr("pending");
    Array.prototype.forEach.call(row.querySelectorAll("button[name=act]"), function (b) {
      var p = b.value.split(" ");
      b.value = p[0] + " " + p[1] + " " + (review ? review.id : "");
    });
    var undo = row.querySelector("button.undo");
    if (undo) { undo.value = review ? review.id : ""; undo.hidden = !review; }
  }
  function focus(i) {
    if (!slots.length) return;
    i = Math.max(0, Math.min(slots.length - 1, i));
    if (cur >= 0 && slots[cur]) { slots[cur].classList.remove("current"); rowArticle(slots[cur]).classList.remove("current"); }
    cur = i;
    slots[cur].classList.add("current");
    rowArticle(slots[cur]).classList.add("current");
    slots[cur].focus({preventScroll: true});
    slots[cur].scrollIntoView({block: "nearest"});
  }
  function rowArticle(row) { var a = row; while (a && a.tagName !== "ARTICLE") a = a.parentNode; return a || row; }

  function decide(button) {
    var row = rowFor(button);
    var fd = new FormData();
    fd.append("act", button.value);
    return post("/ui/decide", fd).then(function (res) {
      if (!res.ok) { say(problem(res), true); return; }
      setState(row, res.body.review);
      pushUndo([res.body.review.id]);
      var r = res.body.review;
      say(tr("{decision}: {task} {value}", {decision: tr(r.decision), task: tr(r.task), value: r.value}));
      if (slots.indexOf(row) === cur) focus(cur + 1);
    });
  }
  function undo(ids, row) {
    var fd = new FormData();
    fd.append("review_ids", ids.join(","));
    return post("/ui/revert", fd).then(function (res) {
      if (!res.ok) { say(problem(res), true); return false; }
      if (ids.length > 1 || !row) { say(tr("undone {n} decisions", {n: ids.length})); location.reload(); return true; }
      setState(row, res.body.current);
      say(tr("undone"));
      return true;
    });
  }
  function rowByReview(id) {
    for (var i = 0; i < slots.length; i++) if (slots[i].dataset.review === String(id)) return slots[i];
    return null;
  }

  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!f.classList.contains("js")) return;
    ev.preventDefault();
    if (f.classList.contains("decide")) {
      var b = ev.submitter;
      if (!b) return;
      if (b.name === "act") decide(b);
      else if (b.name === "review_ids" && b.value) undo([b.value], rowFor(b));
      return;
    }
    if (f.classList.contains("bulk")) {
      post(f.action, new FormData(f)).then(function (res) {
        if (!res.ok) { say(problem(res), true); return; }
        if (res.body.review_ids.length) pushUndo(res.body.review_ids);
        sessionStorage.setItem("nrtd-flash", tr("accepted {n} suggestions; {kept} already decided were kept",
                                                 {n: res.body.decided, kept: res.body.skipped_decided}));
        location.reload();
      });
    }
  });

  document.addEventListener("keydown", function (ev) {
    var t = ev.target.tagName;
    if (t === "INPUT" || t === "SELECT" || t === "TEXTAREA" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var row = cur >= 0 ? slots[cur] : null;
    if (ev.key === "j") { focus(cur + 1); ev.preventDefault(); }
    else if (ev.key === "k") { focus(cur - 1); ev.preventDefault(); }
    else if ((ev.key === "a" || ev.key === "r") && row) {
      var b = row.querySelector("button." + (ev.key === "a" ? "accept" : "reject"));
      if (b) decide(b);
      ev.preventDefault();
    } else if (ev.key === "u") {
      var ids = popUndo();
      if (!ids) { say(tr("nothing to undo")); return; }
      undo(ids, ids.length === 1 ? rowByReview(ids[0]) : null).then(function (ok) { if (!ok) pushUndo(ids); });
      ev.preventDefault();
    }
  });

  var flash = sessionStorage.getItem("nrtd-flash");
  if (flash) { say(flash); sessionStorage.removeItem("nrtd-flash"); }
  if (slots.length) focus(0);
})();
