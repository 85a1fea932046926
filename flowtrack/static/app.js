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
