// The test form judges the readings as they are typed, next to each reading and in a bar that stays in view,
// with the rules the server judges by: rules.py's table (criteria, thresholds, labels) travels in the page, so
// the verdict shows in a vault with no signal too. The server judges every submission again when it arrives.
var FieldRules = (function () {
  var NUMBER = /^-?(\d+(\.\d*)?|\.\d+)$/;

  // Readings are decimals, compared and subtracted exactly as Python's Decimal does (no binary fractions):
  // a value is whole units of 10^-scale.
  function decimal(text) {
    var parts = text.split(".");
    var fraction = parts[1] || "";
    return {units: BigInt((parts[0] || "0") + fraction), scale: fraction.length};
  }
  function aligned(a, b) {
    var scale = Math.max(a.scale, b.scale);
    return [a.units * 10n ** BigInt(scale - a.scale), b.units * 10n ** BigInt(scale - b.scale), scale];
  }
  function compare(a, b) {
    var pair = aligned(a, b);
    return pair[0] < pair[1] ? -1 : pair[0] > pair[1] ? 1 : 0;
  }
  function minus(a, b) {
    var pair = aligned(a, b);
    return {units: pair[0] - pair[1], scale: pair[2]};
  }
  function shown(value) {
    var negative = value.units < 0n;
    var digits = (negative ? -value.units : value.units).toString().padStart(value.scale + 1, "0");
    var whole = digits.slice(0, digits.length - value.scale);
    var text = value.scale ? whole + "." + digits.slice(digits.length - value.scale) : whole;
    return (negative ? "-" : "") + text;
  }

  function psid(raw, table) {
    var text = (raw || "").trim();
    if (!text) { throw "missing"; }
    if (!NUMBER.test(text)) { throw "not a number"; }
    if (text[0] === "-") { throw "cannot be negative"; }
    var value = decimal(text);
    if (compare(value, decimal(table.max_psid)) > 0) { throw "over " + table.max_psid + " psid: check the gauge reading"; }
    return value;
  }
  function yesNo(raw, table) {
    var text = (raw || "").trim().toLowerCase();
    if (table.yes.indexOf(text) >= 0) { return true; }
    if (table.no.indexOf(text) >= 0) { return false; }
    throw text ? "answer yes or no" : "missing";
  }

  // The same judgement as rules.evaluate: {checks: [{key, label, passed, reason}], errors: {key: problem}, result}.
  function evaluate(table, readings) {
    var values = {}, errors = {}, checks = [];
    table.readings.forEach(function (reading) {
      try {
        values[reading.key] = reading.psid ? psid(readings[reading.key], table) : yesNo(readings[reading.key], table);
      } catch (problem) { errors[reading.key] = problem; }
    });
    table.criteria.forEach(function (c) {
      if (c.key in errors || (c.minus && c.minus in errors)) { return; }
      if (c.kind === "Holds") {
        checks.push({key: c.key, label: c.label, passed: values[c.key], reason: values[c.key] ? "yes" : "no"});
        return;
      }
      var least = decimal(table.thresholds[c.threshold]);
      if (c.kind === "GapAtLeast") {
        var gap = minus(values[c.key], values[c.minus]);
        checks.push({key: c.key + "_gap", label: c.label, passed: compare(gap, least) >= 0,
                     reason: shown(gap) + " psid above, needs at least " + shown(least)});
        return;
      }
      var value = values[c.key];
      checks.push({key: c.key, label: c.label, passed: compare(value, least) >= 0,
                   reason: shown(value) + " psid, needs at least " + shown(least)});
    });
    var result = Object.keys(errors).length ? "incomplete" : checks.every(function (c) { return c.passed; }) ? "pass" : "fail";
    return {checks: checks, errors: errors, result: result};
  }

  return {evaluate: evaluate};
})();


// The outbox: what the technician recorded, kept on the phone (IndexedDB) until the server has it. Each record has
// the id the phone gave it, which the server stores it under once, however often it arrives; records go in the
// order they were made. The pages and the service worker (Background Sync) both send it, one at a time.
var Outbox = (function () {
  var STORE = "outbox";

  function database() {
    return new Promise(function (resolve, reject) {
      var opening = indexedDB.open("flowtrack", 1);
      opening.onupgradeneeded = function () { opening.result.createObjectStore(STORE, {keyPath: "id"}); };
      opening.onsuccess = function () { resolve(opening.result); };
      opening.onerror = function () { reject(opening.error); };
    });
  }
  // One transaction; resolves with the request's result once it is written.
  function run(mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(STORE, mode);
        var request = work(transaction.objectStore(STORE));
        transaction.oncomplete = function () { db.close(); resolve(request && request.result); };
        transaction.onerror = transaction.onabort = function () { db.close(); reject(transaction.error); };
      });
    });
  }
  function all() {
    return run("readonly", function (store) { return store.getAll(); })
      .then(function (records) { return records.sort(function (a, b) { return a.seq - b.seq; }); });
  }
  function get(id) { return run("readonly", function (store) { return store.get(id); }); }
  function put(record) { return run("readwrite", function (store) { return store.put(record); }); }
  function remove(id) { return run("readwrite", function (store) { return store.delete(id); }); }
  function clear() { return run("readwrite", function (store) { return store.clear(); }); }

  // A fresh token for each round: the page a record was made on may be hours old. The answer also says who is
  // signed in, so that only their own records go (a phone passed to a colleague sends nothing of the first).
  async function session() {
    var response = await fetch("/outbox/token", {headers: {Accept: "application/json"}, cache: "no-store",
                                                 credentials: "same-origin"});
    if (response.status === 401) { return {signin: true}; }
    if (!response.ok) { throw new Error("no answer"); }
    return response.json();
  }

  function body(record) {
    var data = new FormData();
    record.fields.forEach(function (pair) { data.append(pair[0], pair[1]); });
    (record.photos || []).forEach(function (photo, n) { data.append("photo", photo, "photo-" + (n + 1) + ".jpg"); });
    if (record.voice) {
      data.append("voice_note", record.voice, "voice-note." + ({"audio/ogg": "ogg", "audio/mp4": "m4a"}[record.voice.type.split(";")[0]] || "webm"));
    }
    if (record.kind === "test") { data.append("phone_sent_at", new Date().toISOString()); }
    return data;
  }

  async function sendOne(record, csrf, foreground) {
    var headers = {"X-CSRFToken": csrf, Accept: "application/json"};
    if (foreground) { headers["X-Outbox-Foreground"] = "1"; }
    var response = await fetch(record.url, {method: "POST", body: body(record), headers: headers,
                                            credentials: "same-origin", redirect: "manual"});
    var answer = await response.json().catch(function () { return {}; });
    return {status: response.status, answer: answer};
  }

  // Send what waits, in order. Resolves with {answers: {id: answer}, stopped: "offline" | "signin" | null}.
  async function drain(foreground) {
    var outcome = {answers: {}, stopped: null};
    var records = await all();
    if (!records.some(function (r) { return r.state !== "refused"; })) { return outcome; }
    var who;
    try { who = await session(); } catch (offline) { outcome.stopped = "offline"; return outcome; }
    if (who.signin) { outcome.stopped = "signin"; return outcome; }
    // A refused record holds back what was done after it on the same job (completing the job, above all).
    var held = {};
    records.forEach(function (r) { if (r.state === "refused" && r.job) { held[r.job] = true; } });
    for (var i = 0; i < records.length; i++) {
      var record = records[i];
      if (record.state === "refused" || record.user !== who.user || (record.job && held[record.job])) { continue; }
      var sent;
      try { sent = await sendOne(record, who.csrf, record.id === foreground); }
      catch (offline) { outcome.stopped = "offline"; break; }
      if (sent.status === 200 || sent.status === 201) {
        await remove(record.id);
        outcome.answers[record.id] = sent.answer;
      } else if (sent.status === 400 || sent.status === 404 || sent.status === 422) {
        // Refused for good as it stands (a 400: something in it is not text FlowTrack can read): it waits, marked.
        record.state = "refused";
        record.errors = sent.answer.errors || {};
        record.reason = sent.answer.message || (sent.status === 400
          ? "FlowTrack could not read what was typed: open it, retype the notes and readings, and send it again."
          : "The server does not know this device or job as yours any more: ask the office.");
        await put(record);
        outcome.answers[record.id] = record;
        if (record.job) { held[record.job] = true; }
      } else {
        outcome.stopped = sent.status === 401 || sent.status === 0 ? "signin" : "offline";  // a server fault: later
        break;
      }
    }
    return outcome;
  }

  function sendAll(foreground) {
    if (typeof navigator !== "undefined" && navigator.locks) {
      return navigator.locks.request("flowtrack-outbox", function () { return drain(foreground); });
    }
    return drain(foreground);
  }

  return {all: all, get: get, put: put, remove: remove, clear: clear, sendAll: sendAll};
})();

if (typeof document !== "undefined") {

// The technician's pages: the phone keeps today's pages for a day with no signal, shows what waits in the outbox,
// sends it when the connection comes back, and clears it all on signing out.
var Field = (function () {
  var user = document.body.dataset.outboxUser;
  var NOTICE = "flowtrack-notice";

  function later(message) { sessionStorage.setItem(NOTICE, message); }
  function notice() {
    var message = sessionStorage.getItem(NOTICE);
    if (!message) { return; }
    sessionStorage.removeItem(NOTICE);
    var flash = document.createElement("p");
    flash.className = "flash flash-info";
    flash.setAttribute("role", "status");
    flash.textContent = message;
    document.getElementById("main").prepend(flash);
  }

  async function badge() {
    var link = document.getElementById("outbox-badge");
    if (!link) { return; }
    var mine = (await Outbox.all()).filter(function (r) { return r.user === user; });
    var refused = mine.filter(function (r) { return r.state === "refused"; }).length;
    var words = [];
    if (mine.length > refused) { words.push((mine.length - refused) + " waiting to send"); }
    if (refused) { words.push(refused + " to fix"); }
    link.hidden = !mine.length;
    link.classList.toggle("has-refused", refused > 0);
    link.textContent = words.join(" · ");
  }

  var stopped = null;
  var leaving = false;  // this page is on its way elsewhere: what it sends must not reload it
  function leave(going) { leaving = going; }

  async function send(foreground) {
    var outcome = await Outbox.sendAll(foreground);
    stopped = outcome.stopped;
    await badge();
    document.dispatchEvent(new CustomEvent("outbox:sent", {detail: outcome}));
    return outcome;
  }

  async function queue(record) {
    record.user = user;
    record.seq = record.seq || Date.now();
    record.state = "waiting";
    await Outbox.put(record);
    await badge();
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.ready.then(function (worker) {
        if (worker.sync) { return worker.sync.register("outbox"); }  // Chromium; Safari and Firefox: the timer
      }).catch(function () {});
    }
  }

  function keepToday() {
    var pages = document.getElementById("day-pages");
    if (!pages || !("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.ready.then(function (worker) {
      worker.active.postMessage({type: "keep-day", user: user, pages: JSON.parse(pages.textContent)});
    });
  }

  function forget() {
    var steps = [];
    if ("caches" in window) {
      steps.push(caches.keys().then(function (names) {
        return Promise.all(names.filter(function (n) { return n.startsWith("day-"); }).map(function (n) { return caches.delete(n); }));
      }));
    }
    return Promise.all(steps);
  }

  // Signing out: what waits is sent first; what cannot be sent goes only when the technician says so.
  function guardSignOut(form) {
    form.addEventListener("submit", async function (event) {
      if (form.dataset.confirmed) { return; }
      event.preventDefault();
      leave(true);
      await send();
      var mine = (await Outbox.all()).filter(function (r) { return r.user === user; });
      if (mine.length && !window.confirm(mine.length + " record" + (mine.length > 1 ? "s are" : " is") +
          " not sent yet and will be lost if you sign out now. Sign out anyway?")) {
        leave(false);
        return;
      }
      await Promise.all(mine.map(function (r) { return Outbox.remove(r.id); }));
      await forget();
      form.dataset.confirmed = "yes";
      form.submit();
    });
  }

  if (user) {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/sw.js").catch(function () {});
    }
    keepToday();
    notice();
    badge().then(function () { if (navigator.onLine) { send(); } });
    window.addEventListener("online", function () { send(); });
    setInterval(function () { if (navigator.onLine && stopped !== "signin") { send(); } }, 30000);
    document.querySelectorAll("form[action='/logout']").forEach(guardSignOut);
  }

  function retry(record) {
    record.state = "waiting";
    record.errors = {};
    return Outbox.put(record);
  }

  return {user: user, queue: queue, retry: retry, send: send, later: later, badge: badge, leave: leave,
          leaving: function () { return leaving; }, stopped: function () { return stopped; }};
})();

// A job's actions (start, could not test, complete) go through the outbox too, so that they work in a vault.
(function () {
  var step = document.getElementById("next-step");
  if (!step || !Field.user) { return; }
  var job = step.dataset.job;

  function show(selector, visible) {
    var element = document.querySelector(selector);
    if (element) { element.hidden = !visible; }
  }
  function badgeText(li, text, kind) {
    var outcome = li.querySelector(".outcome");
    outcome.replaceChildren(Object.assign(document.createElement("span"), {className: "badge " + kind, textContent: text}));
    var actions = li.querySelector(".stop-actions");
    if (actions) { actions.hidden = true; }
  }

  // The job as it stands on the phone: the server's page, with what waits in the outbox laid over it.
  async function render() {
    var records = (await Outbox.all()).filter(function (r) { return r.job === job && r.user === Field.user; });
    var started = false, completed = false;
    records.forEach(function (record) {
      var li = record.device && document.querySelector("li.stop[data-device='" + record.device + "']");
      if (record.kind === "test" && li) {
        li.dataset.outcome = "queued";
        started = true;
        if (record.state === "refused") {
          badgeText(li, "Not sent: " + record.reason, "badge-expired");
          var fix = Object.assign(document.createElement("a"), {className: "button wide", textContent: "Fix and send"});
          fix.href = li.dataset.testUrl + "&outbox=" + record.id;
          li.append(fix);
        } else {
          badgeText(li, (record.verdict || "Recorded") + " · waiting to send", record.verdict === "Fails" ? "badge-expired" : "badge-expiring");
        }
      } else if (record.action === "not_tested" && li) {
        li.dataset.outcome = "queued";
        badgeText(li, "Could not test · waiting to send", "badge-expiring");
      } else if (record.action === "start") {
        started = true;
      } else if (record.action === "complete") {
        completed = true;
      }
    });
    var status = document.getElementById("job-status");
    if (completed || started) {
      status.replaceChildren(Object.assign(document.createElement("span"), {
        className: "badge badge-expiring", textContent: completed ? "Completed · waiting to send" : "In progress"}));
    }
    var next = document.querySelector("li.stop[data-outcome='pending']");
    var link = document.getElementById("next-device");
    if (link) {
      link.hidden = !next || completed;
      if (next) { link.href = next.dataset.testUrl; link.textContent = "Test " + next.dataset.label; }
    }
    show("#start-job", !started && !completed && !!document.getElementById("start-job"));
    var startedHere = started || status.textContent.indexOf("In progress") >= 0;
    show("#complete-job", !completed && !next && startedHere && !!document.getElementById("complete-job"));
  }

  document.querySelectorAll("form[data-outbox-action]").forEach(function (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      Field.leave(true);  // this page's own action is being sent: its answer decides where to go
      var action = form.id === "start-job" ? "start" : form.id === "complete-job" ? "complete" : "not_tested";
      var fields = Array.from(new FormData(form)).filter(function (pair) { return pair[0] !== "csrf_token"; });
      var li = form.closest("li.stop");
      var record = {id: crypto.randomUUID(), kind: "action", action: action, job: job, url: form.action,
                    fields: fields, label: form.dataset.outboxAction, device: li ? li.dataset.device : null};
      await Field.queue(record);
      var outcome = await Field.send(record.id);
      var answer = outcome.answers[record.id];
      if (answer && answer.status === "stored") { window.location.href = answer.next; return; }
      if (answer && answer.state === "refused") { await Outbox.remove(record.id); Field.later(answer.reason); window.location.reload(); return; }
      if (action === "complete") {
        Field.later("Job completed on this phone; it is sent when there is signal.");
        window.location.href = step.dataset.dayUrl;
        return;
      }
      Field.leave(false);
      render();
    });
  });
  document.addEventListener("outbox:sent", function (event) {
    // Sent in the background while this page was open: the server's page now says it.
    if (!Field.leaving() && Object.keys(event.detail.answers).length && navigator.onLine) { window.location.reload(); }
  });
  render();
})();

// My day: the jobs as they stand on the phone, and what waits in the outbox, with the reason for any refusal.
(function () {
  var section = document.getElementById("outbox");
  if (!section || !Field.user) { return; }

  async function render() {
    var records = await Outbox.all();
    var mine = records.filter(function (r) { return r.user === Field.user; });
    var others = records.length - mine.length;
    section.hidden = !records.length;
    var list = document.getElementById("outbox-list");
    list.replaceChildren();
    mine.forEach(function (record) {
      var item = document.createElement("li");
      item.textContent = record.label + (record.state === "refused" ? " — not sent: " + record.reason : " — waiting to send");
      if (record.state === "refused") { item.append(fixes(record)); }
      list.append(item);
      var stop = document.querySelector("li.stop[data-job='" + record.job + "']");
      if (stop && record.action === "complete") {
        stop.querySelector(".job-status").textContent = "Completed · waiting to send";
      }
      var device = stop && record.device && stop.querySelector("li[data-device='" + record.device + "'] .outcome");
      if (device) {
        device.textContent = record.state === "refused" ? "not sent: see above"
          : (record.kind === "test" ? record.verdict : "Could not test") + " · waiting to send";
      }
    });
    var waiting = mine.filter(function (r) { return r.state !== "refused"; }).length;
    document.getElementById("outbox-send").hidden = !waiting;
    var words = [];
    if (waiting) { words.push(waiting + " waiting to send" + (Field.stopped() === "signin" ? ": sign in again to send them" : navigator.onLine ? "" : " when there is signal")); }
    if (mine.length - waiting) { words.push((mine.length - waiting) + " refused: fix them below"); }
    if (others) { words.push(others + " of another technician: they go when that person signs in on this phone"); }
    document.getElementById("outbox-summary").textContent = words.join(" · ");
    if (Field.stopped() === "signin") {
      var again = Object.assign(document.createElement("a"), {textContent: " Sign in again", href: "/login?next=/my-day/"});
      document.getElementById("outbox-summary").append(again);
    }
  }
  // A refused record's ways on: fix what the server said (the test form, as it was sent), send it again once the
  // office has put things right, send a test without its job, or, deliberately, drop it.
  function fixes(record) {
    var box = Object.assign(document.createElement("div"), {className: "row-actions"});
    function button(text, act) {
      var b = Object.assign(document.createElement("button"), {type: "button", className: "secondary", textContent: text});
      b.addEventListener("click", async function () { await act(); await Field.send(); render(); });
      box.append(b);
    }
    if (record.kind === "test" && !record.errors.job && !record.errors.device) {
      var fix = Object.assign(document.createElement("a"), {className: "button", textContent: "Fix and send"});
      fix.href = record.formUrl + (record.formUrl.indexOf("?") < 0 ? "?" : "&") + "outbox=" + record.id;
      box.append(fix);
    }
    if (record.kind === "test" && record.job) {
      button("Send it as a test of the device on its own", function () {
        record.job = null;
        record.fields = record.fields.filter(function (pair) { return pair[0] !== "job_id"; });
        return Field.retry(record);
      });
    }
    button("Try again", function () { return Field.retry(record); });
    button("Remove from this phone", function () {
      return window.confirm("Remove " + record.label + " from this phone? It has not reached FlowTrack.")
        ? Outbox.remove(record.id) : null;
    });
    return box;
  }
  document.getElementById("outbox-send").addEventListener("click", function () { Field.send().then(render); });
  document.addEventListener("outbox:sent", render);
  render();
})();

(function () {
  var form = document.getElementById("test-form");
  var source = document.getElementById("test-rules");
  if (!form || !source) { return; }
  var table = JSON.parse(source.textContent);
  var bar = document.getElementById("verdict");
  var retest = form.querySelector("details.retest");
  var WORDS = {pass: "Passes", fail: "Fails", incomplete: "Incomplete"};
  var BADGE = {pass: "badge-valid", fail: "badge-expired", incomplete: "badge-expiring"};

  function typed(prefix) {
    var readings = {};
    table.readings.forEach(function (reading) {
      var name = prefix + "r_" + reading.key;
      var field = form.elements[name];
      readings[reading.key] = field ? field.value : "";
    });
    return readings;
  }
  // Where a check's outcome is shown: beside its reading; the gap between check valve 1 and the relief valve
  // beside the relief reading, the later of the two on the form.
  function placeOf(check) {
    var criterion = table.criteria.filter(function (c) { return c.key + (c.minus ? "_gap" : "") === check.key; })[0];
    return criterion && criterion.minus ? criterion.minus : check.key.replace(/_gap$/, "");
  }
  function showBeside(prefix, evaluation) {
    table.readings.forEach(function (reading) {
      var out = document.getElementById(prefix + "r_" + reading.key + "-verdict");
      if (!out) { return; }
      out.replaceChildren();
      evaluation.checks.filter(function (c) { return placeOf(c) === reading.key; }).forEach(function (c) {
        var line = document.createElement("span");
        line.className = c.passed ? "pass" : "fail";
        line.textContent = (c.passed ? "✓ " : "✗ ") + (reading.psid ? c.label + ": " + c.reason : c.label);
        out.append(line);
      });
      var problem = evaluation.errors[reading.key];
      if (problem && problem !== "missing") {
        var wrong = document.createElement("span");
        wrong.className = "fail";
        wrong.textContent = "✗ " + problem.charAt(0).toUpperCase() + problem.slice(1);
        out.append(wrong);
      }
    });
  }
  function summary(title, evaluation) {
    var line = document.createElement("p");
    var badge = document.createElement("span");
    badge.className = "badge " + BADGE[evaluation.result];
    badge.textContent = WORDS[evaluation.result];
    line.append(title + ": ", badge);
    var failed = evaluation.checks.filter(function (c) { return !c.passed; });
    var waiting = table.readings.filter(function (r) { return evaluation.errors[r.key] === "missing"; }).length;
    var wrong = Object.keys(evaluation.errors).length - waiting;
    var detail = failed.map(function (c) { return c.label; });
    if (wrong) { detail.push(wrong + " reading" + (wrong > 1 ? "s" : "") + " to correct"); }
    if (waiting) { detail.push(waiting + " reading" + (waiting > 1 ? "s" : "") + " still to enter"); }
    if (detail.length) { line.append(" " + detail.join(" · ")); }
    return line;
  }

  function judge() {
    if (form.elements.test_type && form.elements.test_type.value === "removed_capped") {
      bar.replaceChildren(Object.assign(document.createElement("p"), {textContent: "Removed and capped: no readings to judge."}));
      return;
    }
    var first = FieldRules.evaluate(table, typed(""));
    showBeside("", first);
    var lines = [summary("Test", first)];
    form.dataset.verdict = first.result;
    if (first.result === "fail" && retest) {
      retest.open = true;  // a failed test is repaired and retested at once, most often
      var again = FieldRules.evaluate(table, typed("retest_"));
      showBeside("retest_", again);
      lines.push(summary("Retest", again));
      var retested = table.readings.some(function (r) { return typed("retest_")[r.key]; });
      if (retested) { form.dataset.verdict = again.result === "incomplete" ? "incomplete" : again.result; }
    }
    bar.replaceChildren.apply(bar, lines);
  }
  form.addEventListener("input", judge);
  form.addEventListener("change", judge);
  judge();
})();

// The test form on the phone: photos made smaller and kept with the test, the time of each step and (when allowed)
// where the phone was, and submitting into the outbox, which sends at once when there is signal. A refused test
// comes back to this form (?outbox=<id>) with what to fix.
(function () {
  var form = document.getElementById("test-form");
  if (!form || !Field.user || form.hasAttribute("data-amending") || !window.indexedDB) { return; }
  var MAX_SIDE = 1600;
  var photos = [];  // Blobs, in the order taken
  var steps = {opened: new Date().toISOString()};
  var position = null;
  var reopened = new URLSearchParams(window.location.search).get("outbox");
  var id = reopened || crypto.randomUUID();
  var gallery = document.getElementById("test-photos");
  var input = document.getElementById("photo");

  if (navigator.geolocation) {
    navigator.geolocation.getCurrentPosition(function (where) {
      position = {latitude: where.coords.latitude, longitude: where.coords.longitude, accuracy: where.coords.accuracy};
    }, function () {}, {enableHighAccuracy: true, timeout: 20000, maximumAge: 300000});
  }
  form.addEventListener("input", function (event) {
    if (event.target.name && event.target.name.indexOf("r_") >= 0) {
      var now = new Date().toISOString();
      steps.first_reading = steps.first_reading || now;
      steps.last_reading = now;
    }
  });
  form.addEventListener("change", function (event) {
    if (/_signature$/.test(event.target.name)) { steps.signed = new Date().toISOString(); }
  });

  function smaller(file) {
    return createImageBitmap(file, {imageOrientation: "from-image"}).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.82); });
    });
  }
  function showPhoto(blob) {
    var figure = Object.assign(document.createElement("figure"), {className: "photo"});
    var image = Object.assign(document.createElement("img"), {src: URL.createObjectURL(blob), alt: "Photo for this test", width: 160});
    var remove = Object.assign(document.createElement("button"), {type: "button", className: "button small", textContent: "Remove"});
    remove.addEventListener("click", function () { photos.splice(photos.indexOf(blob), 1); figure.remove(); });
    figure.append(image, remove);
    gallery.append(figure);
  }
  input.addEventListener("change", async function () {
    var chosen = Array.from(input.files);
    input.value = "";  // kept here, not sent with the form
    for (var i = 0; i < chosen.length; i++) {
      try {
        var blob = await smaller(chosen[i]);
        photos.push(blob);
        showPhoto(blob);
      } catch (notAPicture) {
        problems({photos: chosen[i].name + " is not a picture the phone can read."});
      }
    }
  });

  // The voice note: recorded with the browser's MediaRecorder (at most a minute), kept with the test like its photos.
  var MAX_VOICE_SECONDS = 60;
  var voice = null;  // the recording, a Blob
  var recording = null;
  var voiceBox = document.getElementById("voice-note");
  var recordButton = document.getElementById("voice-record");
  var stopButton = document.getElementById("voice-stop");
  var removeButton = document.getElementById("voice-remove");
  var voiceState = document.getElementById("voice-state");
  var playback = document.getElementById("voice-playback");
  var voiceClock = document.getElementById("voice-clock");  // seen, not read out each second

  function clock(seconds) { return Math.floor(seconds / 60) + ":" + String(Math.floor(seconds % 60)).padStart(2, "0"); }
  function recordingType() {
    return ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"].filter(function (type) {
      return MediaRecorder.isTypeSupported(type);
    })[0] || "";
  }
  function showVoice(blob, seconds) {
    voice = blob;
    if (playback.src) { URL.revokeObjectURL(playback.src); playback.removeAttribute("src"); }
    if (blob) { playback.src = URL.createObjectURL(blob); }
    playback.hidden = removeButton.hidden = !blob;
    recordButton.hidden = false;
    stopButton.hidden = true;
    recordButton.textContent = blob ? "Record it again" : "Record a voice note";
    voiceBox.classList.remove("recording");
    voiceState.textContent = blob ? "Voice note" + (seconds ? " of " + clock(seconds) : "") + " kept with the test." : "";
  }
  async function startRecording() {
    var stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({audio: true});
    } catch (refused) {
      voiceState.textContent = "The phone did not let FlowTrack use the microphone: allow it in the browser's settings, or type the notes.";
      return;
    }
    var type = recordingType();
    var recorder = new MediaRecorder(stream, type ? {mimeType: type} : {});
    var chunks = [];
    var started = Date.now();
    function elapsed() { return (Date.now() - started) / 1000; }
    function tick() {
      if (elapsed() >= MAX_VOICE_SECONDS && recorder.state === "recording") { recorder.stop(); return; }
      voiceClock.textContent = clock(elapsed()) + " of " + clock(MAX_VOICE_SECONDS);
    }
    recorder.ondataavailable = function (event) { if (event.data.size) { chunks.push(event.data); } };
    recorder.onstop = function () {
      stream.getTracks().forEach(function (track) { track.stop(); });
      clearInterval(recording.timer);
      recording = null;
      voiceClock.textContent = "";
      showVoice(new Blob(chunks, {type: recorder.mimeType || type || "audio/webm"}), Math.min(elapsed(), MAX_VOICE_SECONDS));
      recordButton.focus();
    };
    recorder.start(1000);
    recording = {recorder: recorder, timer: setInterval(tick, 250)};
    voiceBox.classList.add("recording");
    recordButton.hidden = removeButton.hidden = playback.hidden = true;
    stopButton.hidden = false;
    stopButton.focus();
    voiceState.textContent = "Recording: speak now. It stops by itself after a minute.";
    tick();
  }
  if (voiceBox && window.MediaRecorder && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    voiceBox.hidden = false;
    recordButton.addEventListener("click", startRecording);
    stopButton.addEventListener("click", function () { if (recording) { recording.recorder.stop(); } });
    removeButton.addEventListener("click", function () { showVoice(null); voiceState.textContent = "Voice note removed."; recordButton.focus(); });
  }

  function problems(errors) {
    form.querySelectorAll(".outbox-problem").forEach(function (old) { old.remove(); });
    Object.keys(errors).forEach(function (name) {
      var field = form.elements[name];
      var place = field && (field.closest ? field : field[0]);
      var near = place ? place.closest(".field, fieldset, .signature-pad") : null;
      var message = Object.assign(document.createElement(near ? "ul" : "p"), {className: "outbox-problem " + (near ? "errors" : "flash flash-error")});
      message.setAttribute("role", "alert");
      if (near) { message.append(Object.assign(document.createElement("li"), {textContent: errors[name]})); near.append(message); }
      else { message.textContent = errors[name]; form.prepend(message); }
    });
    var first = form.querySelector(".outbox-problem");
    if (first) { first.scrollIntoView({block: "center"}); }
  }

  // What the server would refuse at once, said before the test is queued (it may not reach the server for hours).
  function localProblems() {
    var errors = {};
    if (form.dataset.verdict === "incomplete" && form.elements.test_type.value !== "removed_capped") {
      errors.readings = "Enter every reading before you submit the test (the bar at the bottom says which are missing).";
    }
    if (form.elements.gauge_id && !form.elements.gauge_id.value && form.elements.test_type.value !== "removed_capped") {
      errors.gauge_id = "Choose the test kit you used.";
    }
    if (!form.querySelector("input[name=technician_signature]").value) {  // (the pad's fieldset has its name as id)
      errors.technician_signature = "Sign the test before you submit it.";
    }
    return errors;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    var errors = localProblems();
    if (recording) { errors.voice_note = "Stop the recording before you submit the test."; }
    if (Object.keys(errors).length) { problems(errors); return; }
    steps.submitted = new Date().toISOString();
    var fields = Array.from(new FormData(form)).filter(function (pair) {
      return typeof pair[1] === "string" && pair[0] !== "csrf_token";
    });
    fields.push(["device_id", form.dataset.device], ["phone_steps", JSON.stringify(steps)]);
    if (form.dataset.job) { fields.push(["job_id", form.dataset.job]); }
    if (position) { fields.push(["phone_position", JSON.stringify(position)]); }
    var verdict = {pass: "Passes", fail: "Fails"}[form.dataset.verdict] || "Recorded";
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    await Field.queue({id: id, kind: "test", url: "/outbox/tests/" + id, device: form.dataset.device,
                       job: form.dataset.job || null, label: "Test of " + form.dataset.label, verdict: verdict,
                       formUrl: window.location.pathname + (form.dataset.job ? "?job=" + form.dataset.job : ""),
                       fields: fields, photos: photos, voice: voice});
    var outcome = await Field.send(id);
    var answer = outcome.answers[id];
    button.disabled = false;
    if (answer && answer.status === "stored") { window.location.href = answer.next; return; }
    if (answer && answer.state === "refused") { problems(answer.errors && Object.keys(answer.errors).length ? answer.errors : {device: answer.reason}); return; }
    Field.later(form.dataset.label + ": " + verdict.toLowerCase() + ", kept on the phone; it is sent when there is signal.");
    window.location.href = form.dataset.jobUrl || "/my-day/";
  });

  // A refused test, opened again from the outbox: the form as it was sent, with the reason beside what to fix.
  async function reopen() {
    var record = await Outbox.get(reopened);
    if (!record) { return; }
    record.fields.forEach(function (pair) {
      var field = form.elements[pair[0]];
      if (!field) { return; }
      var choices = field.length !== undefined && !field.tagName ? Array.from(field) : [field];
      choices.forEach(function (one) {
        if (one.type === "radio" || one.type === "checkbox") { if (one.value === pair[1]) { one.checked = true; } }
        else { one.value = pair[1]; if (one.type === "hidden") { one.dispatchEvent(new Event("signature:given")); } }
      });
    });
    var kept = record.fields.filter(function (pair) { return pair[0] === "phone_steps"; })[0];
    if (kept) { steps = JSON.parse(kept[1]); delete steps.submitted; }
    (record.photos || []).forEach(function (blob) { photos.push(blob); showPhoto(blob); });
    if (record.voice && voiceBox) { showVoice(record.voice); }
    form.dispatchEvent(new Event("change"));
    var errors = Object.assign({}, record.errors);
    if (errors.job) {
      var alone = Object.assign(document.createElement("button"), {type: "button", className: "secondary wide",
                                                                  textContent: "Send it as a test of the device on its own"});
      alone.addEventListener("click", async function () {
        record.job = null;
        record.fields = record.fields.filter(function (pair) { return pair[0] !== "job_id"; });
        await Field.retry(record);
        var outcome = await Field.send(record.id);
        var answer = outcome.answers[record.id];
        if (answer && answer.status === "stored") { window.location.href = answer.next; }
        else { window.location.reload(); }
      });
      form.prepend(alone);
    }
    problems(Object.keys(errors).length ? errors : {device: record.reason});
  }
  if (reopened) { reopen(); }
})();
}
