// Every htmx request carries the CSRF token from the page's meta tag.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRFToken"] = meta.content;
  }
});

// A photo input uploads as soon as photos are chosen (htmx); empty it afterwards so the same photo is not
// sent again with the form, and clear the last upload's complaint before the next try.
document.addEventListener("htmx:beforeRequest", function (event) {
  if (event.detail.elt.matches("[data-photo-input]")) {
    document.querySelectorAll(".photo-problem").forEach(function (problem) { problem.remove(); });
  }
});
document.addEventListener("htmx:afterRequest", function (event) {
  if (event.detail.elt.matches("[data-photo-input]")) {
    event.detail.elt.value = "";
  }
});

// Signature pads (the test form, a quote's approval): draw with a finger, pen or mouse, or sign with a typed name
// (lettered onto the pad, for those who cannot draw or use a keyboard alone): the pad's own name field, or the
// form's name field named by data-signature-name, lettered at the press of a button. The pad's picture travels as
// a PNG data URL in its hidden input.
(function () {
  function setUp(pad) {
    var canvas = pad.querySelector("canvas");
    var input = pad.querySelector("input[type=hidden]");
    var typed = pad.querySelector("[data-signature-typed]");
    var context = canvas.getContext("2d");
    var box = canvas.getBoundingClientRect();
    var ratio = window.devicePixelRatio || 1;
    canvas.width = box.width * ratio;
    canvas.height = box.height * ratio;
    context.scale(ratio, ratio);
    context.lineWidth = 2.5;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = context.fillStyle = "#111";
    // A refused form comes back with the signature already given; a test reopened from the phone's outbox
    // puts it back in the input and says so.
    function drawGiven() {
      context.clearRect(0, 0, box.width, box.height);
      if (!input.value) { return; }
      var earlier = new Image();
      earlier.onload = function () { context.drawImage(earlier, 0, 0, box.width, box.height); };
      earlier.src = input.value;
    }
    drawGiven();
    input.addEventListener("signature:given", drawGiven);

    var last = null;
    function at(event) {
      var now = canvas.getBoundingClientRect();
      return {x: event.clientX - now.left, y: event.clientY - now.top};
    }
    function keep() {
      input.value = canvas.toDataURL("image/png");
      input.dispatchEvent(new Event("change", {bubbles: true}));  // the form notes when it was signed
      // A refusal for want of a signature no longer holds once there is one; the server judges it again.
      var refusal = pad.querySelector(".errors");
      if (refusal) {
        refusal.remove();
        pad.classList.remove("has-error");
        var described = (pad.getAttribute("aria-describedby") || "").replace(pad.id + "-errors", "").trim();
        if (described) { pad.setAttribute("aria-describedby", described); } else { pad.removeAttribute("aria-describedby"); }
      }
    }
    function wipe() { context.clearRect(0, 0, box.width, box.height); input.value = ""; }

    canvas.addEventListener("pointerdown", function (event) {
      last = at(event);
      canvas.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!last) return;
      var point = at(event);
      context.beginPath();
      context.moveTo(last.x, last.y);
      context.lineTo(point.x, point.y);
      context.stroke();
      last = point;
      event.preventDefault();
    });
    function lift() { if (last) { last = null; keep(); } }
    canvas.addEventListener("pointerup", lift);
    canvas.addEventListener("pointercancel", lift);

    function letter(name) {
      wipe();
      if (!name.trim()) return;
      context.font = "italic 30px cursive";
      context.fillText(name, 12, box.height * 0.65, box.width - 24);
      keep();
    }

    pad.querySelector("[data-signature-clear]").addEventListener("click", function () {
      wipe();
      if (typed) { typed.value = ""; }
    });
    if (typed) {
      typed.addEventListener("input", function () { letter(typed.value); });
    }
    var named = pad.dataset.signatureName && document.getElementById(pad.dataset.signatureName);
    var button = pad.querySelector("[data-signature-letter]");
    if (named && button) {
      button.addEventListener("click", function () {
        if (!named.value.trim()) { named.focus(); return; }  // nothing to sign with yet: the name field says so
        letter(named.value);
      });
    }
  }
  document.querySelectorAll("[data-signature-pad]").forEach(setUp);
})();

// A field that only one role uses (a district admin's water district) shows only while that role is chosen in
// its form's role list. Without scripts it simply stays in view; the server ignores it for other roles.
(function () {
  function follow(part) {
    var role = part.closest("form").querySelector("select[name=role]");
    if (!role) { return; }
    function show() { part.hidden = role.value !== part.dataset.onlyForRole; }
    role.addEventListener("change", show);
    show();
  }
  function setUpAll() { document.querySelectorAll("[data-only-for-role]").forEach(follow); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();

// A form sent by htmx that replaces itself with the answer takes the keyboard focus with it, and the browser
// drops it back at the top of the page. Where the answer is marked `data-takes-focus`, put the focus on its
// heading instead, so keyboard and screen reader users carry on from there. Only after a submission: the
// answer's own polling must not pull the focus around.
document.addEventListener("htmx:afterSettle", function (event) {
  var config = event.detail.requestConfig;
  var lost = !document.activeElement || document.activeElement === document.body;
  var answer = event.detail.elt.closest("[data-takes-focus]") || event.detail.elt.querySelector("[data-takes-focus]");
  if (!config || config.verb !== "post" || !lost || !answer) { return; }
  var heading = answer.querySelector("h1, h2");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
});

// One menu group open at a time, and a click elsewhere closes it (the groups are <details>: they work without this).
document.addEventListener("click", function (event) {
  document.querySelectorAll("details.nav-group[open]").forEach(function (group) {
    if (!group.contains(event.target)) { group.removeAttribute("open"); }
  });
});

// The assemblies offered with a service request follow the place chosen: a property manager with many buildings
// sees that building's only (one ticked at another place is unticked, which the server would refuse). Without
// scripts they all stay in view, each named with its address.
(function () {
  function follow(part) {
    var place = part.closest("form").querySelector("select[name=location]");
    if (!place) { return; }
    function show() {
      var shown = 0;
      part.querySelectorAll("[data-at-place]").forEach(function (item) {
        var here = !place.value || item.dataset.atPlace === place.value;
        item.hidden = !here;
        if (here) { shown += 1; } else { item.querySelector("input").checked = false; }
      });
      part.hidden = shown === 0;
    }
    place.addEventListener("change", show);
    show();
  }
  function setUpAll() { document.querySelectorAll("[data-follows-place]").forEach(follow); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();

// What a dataplate's photo proposes is put into the device form one field at a time, by the person's own tap on
// "Use": nothing read from a photo is saved unless someone looked at it. Without scripts they type it.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-fill]");
  if (!button) { return; }
  var field = document.getElementById(button.dataset.fill);
  if (!field) { return; }
  field.value = button.dataset.value;
  field.dispatchEvent(new Event("change", {bubbles: true}));
  button.textContent = "Used ✓";
  button.classList.add("used");
  button.setAttribute("aria-label", "Used in " + button.dataset.label);
  field.focus();
});
