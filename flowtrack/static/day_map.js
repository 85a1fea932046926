// The day on a map (flowtrack/templates/schedule/_map.html): the vendored Leaflet draws the stops of the element's
// data-points, numbered in route order and joined in a straight line. With a tile server (data-tiles, the
// MAP_TILE_URL setting) the map is drawn on its tiles; without one, on a plain background fitted to the stops, with
// a scale so distances still read. No inline script or style: the CSP allows neither.
(function () {
  "use strict";

  function marker(point) {
    return L.marker([point.lat, point.lng], {
      title: point.n + ". " + point.name + ", " + point.place + " (" + point.time + ")",
      alt: "Stop " + point.n + ": " + point.name,
      riseOnHover: true,
      icon: L.divIcon({
        className: "stop-marker" + (point.done ? " stop-marker-done" : ""),
        html: String(point.n),
        iconSize: [30, 30],
        iconAnchor: [15, 15]
      })
    }).bindPopup(function () {
      var box = document.createElement("div");
      var name = document.createElement("strong");
      name.textContent = point.n + ". " + point.name;
      box.appendChild(name);
      box.appendChild(document.createElement("br"));
      box.appendChild(document.createTextNode(point.place + " · " + point.time));
      return box;
    });
  }

  function draw(element) {
    var points = JSON.parse(element.getAttribute("data-points") || "[]");
    if (typeof L === "undefined" || !points.length || element.classList.contains("leaflet-container")) {
      return;
    }
    var tiles = element.getAttribute("data-tiles");
    var map = L.map(element, {
      scrollWheelZoom: false,  // the page scrolls past the map; zoom with the buttons or by pinching
      dragging: !L.Browser.mobile,  // on a phone a finger on the map still scrolls the page; the map fits the day
      attributionControl: Boolean(tiles),
      zoomSnap: 0.25
    });
    if (tiles) {
      L.tileLayer(tiles, {attribution: element.getAttribute("data-attribution") || "", maxZoom: 19}).addTo(map);
    }
    var line = points.map(function (point) { return [point.lat, point.lng]; });
    L.polyline(line, {className: "route-line", weight: 4, opacity: 0.85, interactive: false}).addTo(map);
    points.forEach(function (point) { marker(point).addTo(map); });
    if (line.length === 1) {
      map.setView(line[0], 15);
    } else {
      map.fitBounds(line, {padding: [28, 28], maxZoom: 16});
    }
    L.control.scale({imperial: true, metric: true}).addTo(map);
    element.setAttribute("data-drawn", String(points.length));
  }

  function drawAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-day-map]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
