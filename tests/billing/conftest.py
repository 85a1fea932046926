"""The local Stripe API (localstripe) and its plan prices, shared with the sign-up tests."""
from tests.signup.conftest import localstripe_url, stripe_client, stripe_prices  # noqa: F401  (fixtures)
