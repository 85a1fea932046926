"""Sign-up: a new company, its first admin, its Stripe subscription and the admin's first session.

No tenant exists yet to authorize any of it, so sign-up is one of the few narrow uses of the service role.
It either completes whole or leaves nothing behind, in FlowTrack or in Stripe:

1. The address is checked first (a short read), so a taken address never reaches Stripe.
2. Stripe: the customer and its subscription, with idempotency keys naming this attempt, so that the
   library's retry after a lost answer returns the first object instead of making a second. If Stripe is
   unreachable or refuses, nothing has been written to the database and the person can simply try again;
   a customer made before the subscription failed is deleted again.
3. One database transaction: the company, its admin, the Stripe ids and the subscription's state, the
   audit entries and the admin's session. If it fails (the same address won a race, the database went
   away), the Stripe customer is deleted, which cancels its subscription.

No database transaction is held open while Stripe answers: a slow Stripe must not keep service-role
connections, which sign-in needs too, busy.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError

from flowtrack.audit import services as audit
from flowtrack.auth.services import SessionPolicy, add_member, start_session
from flowtrack.billing import services as billing
from flowtrack.billing import stripe_api
from flowtrack.companies.services import create_company
from flowtrack.core.db import Database
from flowtrack.core.directory import EmailInAnotherRegion, region_of_email
from flowtrack.core.permissions import Role
from flowtrack.core.regions import current_region, home_region
from flowtrack.models.accounts import User
from flowtrack.models.companies import Company, Plan

log = logging.getLogger("flowtrack.signup")


class EmailInUse(Exception):
    """Another login identity (in any company) already has this address."""


@dataclass(frozen=True)
class SignUp:
    company_name: str
    timezone: str
    plan: str
    full_name: str
    email: str
    password: str = ""

    def __repr__(self) -> str:  # never show the password in a traceback or a log
        return f"SignUp(plan={self.plan!r}, timezone={self.timezone!r})"


class RegionNotOffered(Exception):
    """The plan does not include that region."""


# Data kept outside the home region (Canadian hosting) is an Enterprise plan's (seeds/000_d79f951748c49db4.txt).
PLANS_OUTSIDE_HOME_REGION = {Plan.enterprise.value}


def region_offered(plan: str, region: str, home: str) -> bool:
    return region == home or plan in PLANS_OUTSIDE_HOME_REGION


def email_in_use(session: so.Session, email: str, region: str) -> bool:
    """The address has an account: in this region's database, or (by the directory) in another region."""
    return region_of_email(email) not in (None, region) or session.scalar(
        sa.select(sa.exists().where(sa.func.lower(User.email) == email.strip().lower())))


def sign_up(db: Database, details: SignUp, policy: SessionPolicy, *, stripe: stripe_api.StripeSettings | None,
            ip: str | None, user_agent: str | None) -> str:
    """Create the company, its admin and (with Stripe settings) its subscription; returns the admin's session
    token. The company is made in the region the caller is in (`db` is that region's). Raises EmailInUse or
    stripe_api.BillingFailed, in which case nothing was created anywhere."""
    email = details.email.strip().lower()
    region = current_region()
    if not region_offered(details.plan, region.name, home_region().name):
        raise RegionNotOffered
    with db.service() as session:
        if email_in_use(session, email, region.name):
            raise EmailInUse
    started = None
    if stripe is not None:
        started = stripe_api.start_subscription(stripe, attempt=uuid.uuid4(), company_name=details.company_name,
                                                email=email, plan=details.plan)
    try:
        with db.service() as session:
            token = _create(session, details, email, started, policy, ip=ip, user_agent=user_agent)
            session.commit()
    except BaseException:
        if started is not None:
            stripe_api.discard_customer(stripe, started.customer_id)
        raise
    return token


def _create(session: so.Session, details: SignUp, email: str, started: stripe_api.Started | None,
            policy: SessionPolicy, *, ip: str | None, user_agent: str | None) -> str:
    # Until the admin exists, the entries name the address that signed up, and from where.
    session.info["audit_actor"] = audit.Actor(None, email, ip, user_agent)
    company = create_company(session, details.company_name, timezone=details.timezone, plan=details.plan)
    try:
        profile = add_member(session, company.id, email=email, password=details.password,
                             role=Role.company_admin.value, full_name=details.full_name)
    except EmailInAnotherRegion as error:  # taken in another region since the check above
        raise EmailInUse from error
    except IntegrityError as error:
        if getattr(error.orig.diag, "constraint_name", None) == "users_email_key":
            raise EmailInUse from error
        raise
    user = session.get(User, profile.user_id)
    session.info["audit_actor"] = audit.Actor(user.id, email, ip, user_agent)
    if started is not None:
        _attach_subscription(session, company, started)
    token = start_session(session, user, policy, ip=ip, user_agent=user_agent)
    log.info("sign-up: company %s, admin %s, Stripe customer %s", company.id, user.id,
             started.customer_id if started else "none (billing not connected)")
    return token


def _attach_subscription(session: so.Session, company: Company, started: stripe_api.Started) -> None:
    """Store the Stripe ids and the subscription's state the way the webhook does, and audit it.

    The state is stamped with the subscription's own creation time (Stripe's clock), so every later event
    about it, even one from the same second, still applies, and the webhook's ordering rule holds.
    """
    subscription = started.subscription
    company.stripe_customer_id = started.customer_id
    billing._apply(company, subscription, dt.datetime.fromtimestamp(int(subscription["created"]), dt.timezone.utc))
    session.flush()
    audit.record(session, "subscription.started", entity_type="company", entity_id=company.id,
                 company_id=company.id,
                 changes=audit.changes_between(None, {"stripe_customer_id": company.stripe_customer_id,
                                                      **billing._state(company)}))
