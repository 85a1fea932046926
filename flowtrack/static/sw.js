// The service worker of a technician's phone: it keeps today's field pages for a day with no signal, serves them
// when the network does not answer, and sends the outbox when Background Sync says the connection is back.
// The server puts its version first (flowtrack/field_tests/offline.py), so a new release replaces the kept files.
importScripts("/static/field.js");  // the outbox, shared with the pages

var STATIC = "static-" + VERSION;
// The day's map works with no signal too (on its plain background): Leaflet and the script that draws it.
var SHELL = ["/static/app.css", "/static/app.js", "/static/field.js", "/static/day_map.js",
             "/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css"];
var NETWORK_PATIENCE_MS = 5000;  // one bar of signal in a vault: after this the kept page is better than waiting
var OFFLINE_PAGE = "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
  "<title>Offline · FlowTrack</title><link rel=stylesheet href='/static/app.css'><main id=main><h1>No signal</h1>" +
  "<p>This page was not kept on the phone. Your day's jobs and test forms are: <a href='/my-day/'>open My day</a>.</p></main></html>";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC).then(function (cache) { return cache.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name.startsWith("static-") && name !== STATIC; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function dayCaches() {
  return caches.keys().then(function (names) { return names.filter(function (name) { return name.startsWith("day-"); }); });
}
function forgetDays(except) {
  return dayCaches().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== except; }).map(function (name) { return caches.delete(name); }));
  });
}

// Only this technician's day is kept: another person's, or yesterday's pages, go.
async function keepDay(user, pages) {
  var name = "day-" + user;
  await forgetDays(name);
  var cache = await caches.open(name);
  await Promise.all(pages.map(async function (page) {
    var response = await fetch(page, {credentials: "same-origin"});
    if (response.ok && !response.redirected) { await cache.put(page, response); }
  }));
  var kept = await cache.keys();
  await Promise.all(kept.filter(function (request) {
    var url = new URL(request.url);
    return pages.indexOf(url.pathname + url.search) < 0;
  }).map(function (request) { return cache.delete(request); }));
}

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "keep-day") { event.waitUntil(keepDay(event.data.user, event.data.pages)); }
  if (event.data && event.data.type === "forget-day") { event.waitUntil(forgetDays()); }
});

function patiently(request) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("no answer")); }, NETWORK_PATIENCE_MS);
    fetch(request).then(function (response) { clearTimeout(timer); resolve(response); },
                        function (error) { clearTimeout(timer); reject(error); });
  });
}

async function kept(request) {
  var names = await dayCaches();
  if (!names.length) { return null; }
  var cache = await caches.open(names[0]);
  // A test form opened to fix a refused test carries ?outbox=<id>: it is the same page.
  return (await cache.match(request)) || (new URL(request.url).pathname.endsWith("/tests/new")
    ? cache.match(request, {ignoreSearch: true}) : null);
}

async function page(request) {
  if (new URL(request.url).pathname === "/login") {
    // Signed out, or the session ended (the server sends the phone here): the kept pages go. The outbox stays,
    // to be sent once the technician has signed in again.
    await forgetDays();
  }
  try {
    return await patiently(request);
  } catch (offline) {
    return (await kept(request)) ||
      new Response(OFFLINE_PAGE, {status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}});
  }
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (SHELL.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(url.pathname).then(function (hit) { return hit || fetch(request); }));
  } else if (request.mode === "navigate") {
    event.respondWith(page(request));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag === "outbox") { event.waitUntil(Outbox.sendAll()); }
});
