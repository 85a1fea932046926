"""The company itself: creating one, its time zone and today, and its own settings."""
from __future__ import annotations

import datetime as dt
import zoneinfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.core.db import new_id
from flowtrack.core.directory import place_company
from flowtrack.core.forms import clean
from flowtrack.core.permissions import Role, allowed
from flowtrack.models.accounts import Profile, User
from flowtrack.models.companies import Company, CompanySettings

DEFAULT_LEAD_DAYS = (60, 30)  # reminders go out this many days before a test is due


def create_company(session: so.Session, name: str, *, timezone: str = "America/Los_Angeles",
                   plan: str = "professional") -> Company:
    """A new tenant (service role: no tenant exists yet to authorize it)."""
    company = Company(id=new_id(), name=name, timezone=timezone, plan=plan)
    place_company(company.id)  # the directory first: a company never exists where the directory cannot find it
    session.add(company)
    session.flush()
    audit.record(session, "company.created", entity_type="company", entity_id=company.id, company_id=company.id,
                 changes=audit.changes_between(None, {"name": name, "timezone": timezone, "plan": plan}))
    return company


def company_timezone(session: so.Session) -> zoneinfo.ZoneInfo:
    """The company's time zone: the one its people's dates and times are meant in."""
    company = session.info.get("company")  # a request's session holds the signed-in company's row
    return zoneinfo.ZoneInfo(company.timezone if company is not None else session.scalar(sa.select(Company.timezone)))


def company_today(session: so.Session) -> dt.date:
    """Today where the company is (dates typed by its people are theirs, not the server's)."""
    return dt.datetime.now(company_timezone(session)).date()


DETAILS = ("address", "phone", "email", "remit_to")


def save_details(session: so.Session, company: Company, *, name: str, timezone: str, **details: str | None) -> dict:
    """The company's name, time zone and the details its customers read; audited. Returns what changed."""
    settings = settings_of(session)
    before = {"name": company.name, "timezone": company.timezone,
              **{field: getattr(settings, field) for field in DETAILS}}
    company.name, company.timezone = name.strip(), timezone
    for field in DETAILS:
        setattr(settings, field, clean(details.get(field)))
    session.add(settings)
    session.flush()
    after = {"name": company.name, "timezone": company.timezone,
             **{field: getattr(settings, field) for field in DETAILS}}
    changes = audit.changes_between(before, after)
    if changes:
        audit.record(session, "settings.changed", entity_type="company", entity_id=company.id, changes=changes)
    return changes


FAR_FROM_LOCATION_M = 300  # a test recorded farther than this from its location is flagged


def save_far_from_location(session: so.Session, company: Company, meters: int) -> dict:
    """How far from its location a test may be recorded before it is flagged; audited. Returns what changed."""
    settings = settings_of(session)
    changes = audit.changes_between({"far_from_location_m": settings.far_from_location_m},
                                    {"far_from_location_m": meters})
    settings.far_from_location_m = meters
    session.add(settings)
    if changes:
        audit.record(session, "settings.changed", entity_type="company", entity_id=company.id, changes=changes)
    return changes


def settings_of(session: so.Session) -> CompanySettings:
    """The company's settings; the defaults (not yet saved) when nobody changed them. Add the object to the
    session to save a change."""
    found = session.scalar(sa.select(CompanySettings))
    return found or CompanySettings(company_id=session.info.get("company_id"), reminders_enabled=True,
                                    reminder_lead_days=list(DEFAULT_LEAD_DAYS), remind_when_overdue=True,
                                    tax_rate_bp=0, payment_terms_days=30, far_from_location_m=FAR_FROM_LOCATION_M,
                                    bookings_need_confirmation=False, quote_signature_required=False)


def office_addresses(session: so.Session, permission: str) -> list[str]:
    """Where news for the office goes (a customer's request, a customer's answer to a quote): the company's email
    from its settings; without one, each active person whose role may act on it (`permission`)."""
    office = settings_of(session).email
    if office:
        return [office]
    acting = [role.value for role in Role if allowed(role, permission)]
    return list(session.scalars(sa.select(User.email).join(Profile, Profile.user_id == User.id)
                                .where(Profile.role.in_(acting), User.is_active.is_(True)).order_by(User.email)))
