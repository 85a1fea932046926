// The ready-to-copy sheet: each Copy button puts its value on the clipboard and says so, on the button for the
// eye and in the page's status line for a screen reader. Without the Clipboard API (a page not served over HTTPS)
// the value is copied through a selected text box, as Ctrl+C would.
(function () {
  var status = document.getElementById("copy-status");
  if (!status) { return; }
  var timer = null;

  function throughSelection(text) {
    var box = document.createElement("textarea");
    box.value = text;
    box.setAttribute("readonly", "");
    box.className = "copy-buffer";
    document.body.appendChild(box);
    box.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    document.body.removeChild(box);
    return copied ? Promise.resolve() : Promise.reject(new Error("not copied"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return throughSelection(text); });
    }
    return throughSelection(text);
  }

  function say(message) {
    // Emptied first, so that copying the same field twice is announced twice.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message; }, 50);
  }

  function settle(button) {
    document.querySelectorAll("[data-copy].copied").forEach(function (other) {
      other.classList.remove("copied");
      other.textContent = "Copy";
    });
    button.classList.add("copied");
    button.textContent = "Copied";
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      button.classList.remove("copied");
      button.textContent = "Copy";
    }, 4000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var value = document.getElementById(button.dataset.copy).textContent;
    copy(value).then(function () {
      settle(button);
      say("Copied " + button.dataset.copyName + ": " + value);
    }, function () {
      say("Could not copy " + button.dataset.copyName + ": select its value and press Ctrl+C.");
    });
  });
})();
