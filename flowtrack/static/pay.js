// The portal's card payment: Stripe's card field and confirmation; the server records the payment only when
// Stripe's webhook says it succeeded, so this page just sends the customer back to the invoice.
(function () {
  var form = document.getElementById("pay-form");
  if (!form || typeof Stripe === "undefined") {
    return;
  }
  var stripe = Stripe(form.dataset.key, form.dataset.account ? { stripeAccount: form.dataset.account } : undefined);
  var card = stripe.elements().create("card");
  card.mount("#card");
  var button = form.querySelector("button[type=submit]");
  var result = document.getElementById("pay-result");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    result.textContent = "";
    stripe.confirmCardPayment(form.dataset.secret, { payment_method: { card: card } }).then(function (outcome) {
      if (outcome.error) {
        result.textContent = outcome.error.message;
        button.disabled = false;
      } else {
        window.location = form.dataset.done;
      }
    });
  });
})();
