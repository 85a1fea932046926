// The portal's card forms: Stripe's card field, then Stripe's confirmation of what the server asked it for.
// Paying an invoice (data-confirm="payment"): the server records the payment only when Stripe's webhook says it
// succeeded, so the page just goes back to the invoice. Saving a card (data-confirm="setup"): the form (with its
// CSRF token) then tells the server which SetupIntent, and the server asks Stripe whether it really succeeded.
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
  var saving = form.dataset.confirm === "setup";
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    result.textContent = "";
    var confirm = saving ? stripe.confirmCardSetup : stripe.confirmCardPayment;
    confirm.call(stripe, form.dataset.secret, { payment_method: { card: card } }).then(function (outcome) {
      if (outcome.error) {
        result.textContent = outcome.error.message;
        button.disabled = false;
      } else if (saving) {
        document.getElementById("setup-intent").value = outcome.setupIntent.id;
        form.submit();  // a script's submit() does not come back through this listener
      } else {
        window.location = form.dataset.done;
      }
    });
  });
})();
