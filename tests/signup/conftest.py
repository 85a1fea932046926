"""A real local Stripe API (localstripe, in a subprocess) with the three plans' prices, and apps pointed at it."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import stripe

from flowtrack.models.companies import Plan

SECRET_KEY = "sk_test_" + "x" * 24
PLAN_PRICES = {"basic": 4900, "professional": 9900, "enterprise": 24900}


def free_port() -> int:
    """A loopback port nothing listens on (the OS picks it; the socket is closed again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_localstripe(port: int) -> subprocess.Popen:
    """localstripe serving on a loopback port, once it answers (its state is in its memory: a restart forgets)."""
    server = subprocess.Popen([sys.executable, "-m", "tests.signup.localstripe_server", str(port)],
                              cwd=Path(__file__).parents[2], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"localstripe did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)


def stop_localstripe(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def localstripe_url():
    port = free_port()
    server = start_localstripe(port)
    yield f"http://127.0.0.1:{port}"
    stop_localstripe(server)


@pytest.fixture(scope="session")
def stripe_client(localstripe_url) -> stripe.StripeClient:
    """Reads back what sign-up made, straight from the Stripe API."""
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe_url})


@pytest.fixture(scope="session")
def stripe_prices(stripe_client) -> dict[str, str]:
    """One monthly price per plan, as an operator sets them up in Stripe; plan -> price id."""
    product = stripe_client.v1.products.create(params={"name": "FlowTrack"})
    prices = {}
    for plan in Plan:
        price = stripe_client.v1.plans.create(params={
            "id": f"price_{plan.value}_{secrets.token_hex(4)}", "product": product.id, "nickname": plan.value,
            "amount": PLAN_PRICES[plan.value], "currency": "usd", "interval": "month"})
        prices[plan.value] = price.id
    return prices


def stripe_settings(base: str, prices: dict[str, str]) -> dict[str, str]:
    return {"STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_API_BASE": base,
            **{f"STRIPE_PRICE_{plan.upper()}": price for plan, price in prices.items()}}


@pytest.fixture(scope="session")
def stripe_app(app_factory, localstripe_url, stripe_prices):
    """FlowTrack with Stripe connected (to localstripe)."""
    return app_factory(**stripe_settings(localstripe_url, stripe_prices))
