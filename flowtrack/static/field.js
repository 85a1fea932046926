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
    if (first.result === "fail" && retest) {
      retest.open = true;  // a failed test is repaired and retested at once, most often
      var again = FieldRules.evaluate(table, typed("retest_"));
      showBeside("retest_", again);
      lines.push(summary("Retest", again));
    }
    bar.replaceChildren.apply(bar, lines);
  }
  form.addEventListener("input", judge);
  form.addEventListener("change", judge);
  judge();
})();
