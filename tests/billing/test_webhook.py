"""Stripe's subscription webhook: signed, applied once, safe out of order, audited."""
import json
import secrets

import pytest
import sqlalchemy as sa

from flowtrack.models.audit import AuditEntry
from flowtrack.models.billing import StripeEvent
from flowtrack.models.companies import Company
from tests.billing.helpers import DAY, WEBHOOK_SECRET, at, deliver, now, signature, subscribe, subscription_event


@pytest.fixture(scope="module")
def stripe_app(app_factory):
    return app_factory(STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_PORTAL_URL="https://billing.stripe.com/p/login/test")


@pytest.fixture
def stripe_client(stripe_app):
    return stripe_app.test_client()


@pytest.fixture
def customer(stripe_app, factory):
    """A subscribed company: (company id, Stripe customer id, Stripe subscription id)."""
    company = factory.company("Subscribed")
    customer_id, subscription_id = subscribe(stripe_app, company.id)
    return company.id, customer_id, subscription_id


def company_row(app, company_id) -> Company:
    with app.extensions["flowtrack.db"].service() as session:
        return session.get(Company, company_id)


def audit_entries(app, company_id, action="subscription.changed") -> list[AuditEntry]:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalars(sa.select(AuditEntry).where(AuditEntry.company_id == company_id,
                                                           AuditEntry.action == action)
                               .order_by(AuditEntry.seq)).all()


def processed(app, event_id) -> StripeEvent | None:
    with app.extensions["flowtrack.db"].service() as session:
        return session.get(StripeEvent, event_id)


def test_cancel_at_period_end_pins_the_deletion_clock_to_the_period_end(stripe_app, stripe_client, customer):
    company_id, cus, sub = customer
    t, period_end = now(), now() + 20 * DAY
    event = subscription_event("customer.subscription.updated", sub, cus, created=t, cancel_at_period_end=True,
                               period_end=period_end)
    response = deliver(stripe_client, event)
    assert response.status_code == 200 and response.json["outcome"] == "applied"
    company = company_row(stripe_app, company_id)
    assert company.cancel_at_period_end is True
    assert company.current_period_end == at(period_end)
    assert company.deletion_clock_starts_at == at(period_end)
    assert company.subscription_status == "active" and company.subscription_state_at == at(t)
    [entry] = audit_entries(stripe_app, company_id)
    assert entry.actor_label == f"Stripe event {event['id']}"
    assert entry.changes["deletion_clock_starts_at"] == {"before": None, "after": at(period_end).isoformat()}
    assert entry.changes["cancel_at_period_end"] == {"before": False, "after": True}
    row = processed(stripe_app, event["id"])
    assert (row.type, row.company_id, row.outcome) == ("customer.subscription.updated", company_id, "applied")


def test_a_period_end_on_the_subscription_itself_is_read_too(stripe_app, stripe_client, customer):
    """API versions before 2025-03-31 carry current_period_end on the subscription, not on its items."""
    company_id, cus, sub = customer
    period_end = now() + 5 * DAY
    event = subscription_event("customer.subscription.updated", sub, cus, created=now(), cancel_at_period_end=True)
    event["data"]["object"]["current_period_end"] = period_end
    del event["data"]["object"]["items"]
    assert deliver(stripe_client, event).status_code == 200
    assert company_row(stripe_app, company_id).deletion_clock_starts_at == at(period_end)


def test_reversing_the_cancellation_clears_the_clock(stripe_app, stripe_client, customer):
    company_id, cus, sub = customer
    t, period_end = now(), now() + 20 * DAY
    deliver(stripe_client, subscription_event("customer.subscription.updated", sub, cus, created=t - 60,
                                              cancel_at_period_end=True, period_end=period_end))
    response = deliver(stripe_client, subscription_event("customer.subscription.updated", sub, cus, created=t,
                                                         cancel_at_period_end=False, period_end=period_end))
    assert response.json["outcome"] == "applied"
    company = company_row(stripe_app, company_id)
    assert company.deletion_clock_starts_at is None and company.cancel_at_period_end is False
    assert company.subscription_status == "active"
    reversal = audit_entries(stripe_app, company_id)[-1]
    assert reversal.changes["deletion_clock_starts_at"] == {"before": at(period_end).isoformat(), "after": None}


def test_deletion_after_a_scheduled_cancellation_keeps_the_pinned_clock(stripe_app, stripe_client, customer):
    company_id, cus, sub = customer
    t, period_end = now(), now() - DAY
    deliver(stripe_client, subscription_event("customer.subscription.updated", sub, cus, created=t - 30 * DAY,
                                              cancel_at_period_end=True, period_end=period_end))
    # Stripe ends the subscription a little after the period's end.
    deliver(stripe_client, subscription_event("customer.subscription.deleted", sub, cus, created=t, status="canceled",
                                              cancel_at_period_end=True, period_end=period_end, ended_at=t))
    company = company_row(stripe_app, company_id)
    assert company.subscription_status == "canceled"
    assert company.deletion_clock_starts_at == at(period_end)


def test_a_subscription_that_ends_without_notice_starts_the_clock_when_it_ended(stripe_app, stripe_client, customer):
    """Failed payments: customer.subscription.deleted straight away, no cancellation scheduled before."""
    company_id, cus, sub = customer
    t = now()
    response = deliver(stripe_client, subscription_event("customer.subscription.deleted", sub, cus, created=t,
                                                         status="canceled", period_end=t + 10 * DAY,
                                                         ended_at=t - 120))
    assert response.json["outcome"] == "applied"
    company = company_row(stripe_app, company_id)
    assert company.subscription_status == "canceled"
    assert company.deletion_clock_starts_at == at(t - 120)


def test_an_update_to_status_canceled_counts_as_the_end(stripe_app, stripe_client, customer):
    company_id, cus, sub = customer
    t = now()
    deliver(stripe_client, subscription_event("customer.subscription.updated", sub, cus, created=t,
                                              status="canceled", ended_at=t))
    company = company_row(stripe_app, company_id)
    assert company.subscription_status == "canceled" and company.deletion_clock_starts_at == at(t)


def test_a_plan_change_follows_the_price_lookup_key(stripe_app, stripe_client, customer):
    company_id, cus, sub = customer
    deliver(stripe_client, subscription_event("customer.subscription.updated", sub, cus, created=now(),
                                              period_end=now() + DAY, lookup_key="enterprise"))
    assert company_row(stripe_app, company_id).plan == "enterprise"


def test_a_replayed_event_changes_nothing(stripe_app, stripe_client, customer):
    company_id, cus, sub = customer
    event = subscription_event("customer.subscription.updated", sub, cus, created=now(), cancel_at_period_end=True,
                               period_end=now() + DAY)
    assert deliver(stripe_client, event).json["outcome"] == "applied"
    # In between, the customer reverses; then Stripe redelivers the old event (same id).
    deliver(stripe_client, subscription_event("customer.subscription.updated", sub, cus, created=now() + 1,
                                              period_end=now() + DAY))
    before = company_row(stripe_app, company_id)
    entries = len(audit_entries(stripe_app, company_id))
    replay = deliver(stripe_client, event)
    assert replay.status_code == 200 and replay.json["outcome"] == "duplicate"
    after = company_row(stripe_app, company_id)
    assert after.deletion_clock_starts_at is None is before.deletion_clock_starts_at
    assert len(audit_entries(stripe_app, company_id)) == entries
    with stripe_app.extensions["flowtrack.db"].service() as session:
        assert session.scalar(sa.select(sa.func.count()).where(StripeEvent.id == event["id"])) == 1


def test_an_older_event_delivered_late_is_ignored(stripe_app, stripe_client, customer):
    company_id, cus, sub = customer
    t, period_end = now(), now() + 20 * DAY
    newer = subscription_event("customer.subscription.updated", sub, cus, created=t, cancel_at_period_end=True,
                               period_end=period_end)
    older = subscription_event("customer.subscription.updated", sub, cus, created=t - 3600,
                               cancel_at_period_end=False, period_end=period_end)
    deliver(stripe_client, newer)
    response = deliver(stripe_client, older)
    assert response.status_code == 200 and response.json["outcome"] == "stale"
    company = company_row(stripe_app, company_id)
    assert company.deletion_clock_starts_at == at(period_end) and company.subscription_state_at == at(t)
    assert processed(stripe_app, older["id"]).outcome == "stale"


def test_deletion_delivered_before_the_cancellation_it_followed(stripe_app, stripe_client, customer):
    company_id, cus, sub = customer
    t, period_end = now(), now() - 2 * DAY
    scheduled = subscription_event("customer.subscription.updated", sub, cus, created=t - 20 * DAY,
                                   cancel_at_period_end=True, period_end=period_end)
    deleted = subscription_event("customer.subscription.deleted", sub, cus, created=t, status="canceled",
                                 cancel_at_period_end=True, period_end=period_end, ended_at=period_end)
    # An update from before the cancellation arrives last of all.
    earlier = subscription_event("customer.subscription.updated", sub, cus, created=t - 25 * DAY,
                                 period_end=period_end)
    for event in (deleted, scheduled, earlier):
        deliver(stripe_client, event)
    company = company_row(stripe_app, company_id)
    assert company.subscription_status == "canceled"
    assert company.deletion_clock_starts_at == at(period_end)
    assert [processed(stripe_app, e["id"]).outcome for e in (deleted, scheduled, earlier)] == \
        ["applied", "stale", "stale"]


def test_a_canceled_subscription_is_never_revived_by_its_own_events(stripe_app, stripe_client, customer):
    """Same-second events: Stripe's created has one-second resolution, and canceled is final for a subscription."""
    company_id, cus, sub = customer
    t = now()
    deliver(stripe_client, subscription_event("customer.subscription.deleted", sub, cus, created=t,
                                              status="canceled", ended_at=t))
    response = deliver(stripe_client, subscription_event("customer.subscription.updated", sub, cus, created=t))
    assert response.json["outcome"] == "stale"
    assert company_row(stripe_app, company_id).subscription_status == "canceled"


def test_a_new_subscription_during_grace_restores_the_company(stripe_app, stripe_client, customer):
    company_id, cus, sub = customer
    t = now()
    deliver(stripe_client, subscription_event("customer.subscription.deleted", sub, cus, created=t - 5 * DAY,
                                              status="canceled", ended_at=t - 5 * DAY))
    new_sub = f"sub_{secrets.token_hex(6)}"
    # Created while the first payment is still being taken: not yet a subscription that keeps the data.
    unpaid = deliver(stripe_client, subscription_event("customer.subscription.created", new_sub, cus, created=t - 60,
                                                       status="incomplete", period_end=t + 30 * DAY))
    assert unpaid.json["outcome"] == "ignored"
    response = deliver(stripe_client, subscription_event("customer.subscription.updated", new_sub, cus, created=t,
                                                         period_end=t + 30 * DAY))
    assert response.json["outcome"] == "applied"
    company = company_row(stripe_app, company_id)
    assert (company.stripe_subscription_id, company.subscription_status) == (new_sub, "active")
    assert company.deletion_clock_starts_at is None
    # A late event of the old, ended subscription no longer speaks for the company.
    late = deliver(stripe_client, subscription_event("customer.subscription.updated", sub, cus, created=t + 1,
                                                     status="canceled", ended_at=t - 5 * DAY))
    assert late.json["outcome"] == "ignored"
    assert company_row(stripe_app, company_id).subscription_status == "active"


def test_events_of_unknown_customers_and_other_types_are_recorded_and_ignored(stripe_app, stripe_client):
    unknown = subscription_event("customer.subscription.updated", "sub_nobody", "cus_nobody", created=now(),
                                 cancel_at_period_end=True, period_end=now())
    assert deliver(stripe_client, unknown).json["outcome"] == "unmatched"
    invoice_paid = {"id": f"evt_{secrets.token_hex(8)}", "object": "event", "type": "invoice.paid",
                    "created": now(), "data": {"object": {"id": "in_1", "object": "invoice"}}}
    assert deliver(stripe_client, invoice_paid).json["outcome"] == "ignored"
    assert processed(stripe_app, unknown["id"]).company_id is None


@pytest.mark.parametrize("forgery", ["wrong secret", "tampered body", "no header", "garbage header", "too old",
                                     "from the future"])
def test_a_bad_signature_is_refused_and_changes_nothing(stripe_app, stripe_client, customer, caplog, forgery):
    company_id, cus, sub = customer
    marker = f"do-not-log-{secrets.token_hex(4)}"
    event = subscription_event("customer.subscription.deleted", sub, cus, created=now(), status="canceled",
                               ended_at=now(), note=marker)
    payload = json.dumps(event)
    header = {
        "wrong secret": signature(payload, secret="whsec_someone_else"),
        "tampered body": signature(payload.replace('"canceled"', '"active"', 1)),
        "no header": None,
        "garbage header": "t=yesterday,v1=zz",
        "too old": signature(payload, timestamp=now() - 301),
        "from the future": signature(payload, timestamp=now() + 301),
    }[forgery]
    before = company_row(stripe_app, company_id)
    with caplog.at_level("WARNING", logger="flowtrack.billing"):
        response = stripe_client.post("/webhooks/stripe", data=payload, content_type="application/json",
                                      headers={"Stripe-Signature": header} if header else {})
    assert response.status_code == 400
    after = company_row(stripe_app, company_id)
    assert (after.subscription_status, after.deletion_clock_starts_at, after.subscription_state_at) == \
        (before.subscription_status, before.deletion_clock_starts_at, before.subscription_state_at)
    assert processed(stripe_app, event["id"]) is None and audit_entries(stripe_app, company_id) == []
    assert "Stripe webhook refused" in caplog.text
    assert marker not in caplog.text and cus not in caplog.text


def test_a_signature_within_the_tolerance_is_accepted(stripe_app, stripe_client, customer):
    company_id, cus, sub = customer
    event = subscription_event("customer.subscription.updated", sub, cus, created=now(), period_end=now() + DAY)
    assert deliver(stripe_client, event, timestamp=now() - 200).status_code == 200
    event = subscription_event("customer.subscription.updated", sub, cus, created=now() + 1, period_end=now() + DAY)
    assert deliver(stripe_client, event, timestamp=now() + 200).status_code == 200


def test_without_a_configured_secret_every_event_is_refused(app, client, customer, monkeypatch):
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    company_id, cus, sub = customer
    event = subscription_event("customer.subscription.deleted", sub, cus, created=now(), status="canceled")
    assert deliver(client, event).status_code == 503
    assert company_row(app, company_id).subscription_status == "active"


def test_only_the_signed_webhooks_skip_csrf(stripe_app, stripe_client, customer):
    from flowtrack.core.extensions import csrf

    # Stripe's, the SMS provider's and the mail provider's: each checks its own signature instead (the SMS one in
    # tests/reminders, the mail one in tests/notifications/test_bounces.py).
    assert csrf._exempt_views == {"flowtrack.billing.routes.stripe_webhook", "flowtrack.reminders.routes.sms_reply",
                                  "flowtrack.notifications.routes.email_reports"} and not csrf._exempt_blueprints
    company_id, cus, sub = customer
    # The webhook needs no cookie and no CSRF token; any other POST without a token is refused.
    event = subscription_event("customer.subscription.updated", sub, cus, created=now(), period_end=now() + DAY)
    assert deliver(stripe_client, event).status_code == 200
    assert stripe_client.post("/logout").status_code == 400


def test_the_admin_billing_page_opens_the_stripe_portal(stripe_app, factory):
    tenant = factory.tenant("Billing page")
    subscribe(stripe_app, tenant.id, current_period_end=at(now() + 9 * DAY))
    admin = stripe_app.test_client()
    admin.sign_in_as(tenant.members["company_admin"])
    page = admin.get("/billing/")
    assert page.status_code == 200
    assert 'href="https://billing.stripe.com/p/login/test"' in page.text and "Renews" in page.text
    office = stripe_app.test_client()
    office.sign_in_as(tenant.members["manager"])
    assert office.get("/billing/").status_code == 403
