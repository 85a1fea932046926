// Saving a card: Stripe's card field confirms a SetupIntent; then the form (with its CSRF token) tells the server
// which one, and the server asks Stripe whether it really succeeded before keeping the card.
(function () {
  var form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") {
    return;
  }
  var stripe = Stripe(form.dataset.key, form.dataset.account ? { stripeAccount: form.dataset.account } : undefined);
  var card = stripe.elements().create("card");
  card.mount("#card");
  var button = form.querySelector("button[type=submit]");
  var result = document.getElementById("card-result");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    result.textContent = "";
    stripe.confirmCardSetup(form.dataset.secret, { payment_method: { card: card } }).then(function (outcome) {
      if (outcome.error) {
        result.textContent = outcome.error.message;
        button.disabled = false;
        return;
      }
      document.getElementById("setup-intent").value = outcome.setupIntent.id;
      form.submit();  // a script's submit() does not come back through this listener
    });
  });
})();
