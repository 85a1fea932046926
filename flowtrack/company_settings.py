"""A company's own choices (reminder lead times, tax rate, payment terms): one row, defaults until saved."""
from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.models.companies import CompanySettings

DEFAULT_LEAD_DAYS = (60, 30)


def settings_of(session: so.Session) -> CompanySettings:
    """The company's settings; the defaults (not yet saved) when nobody changed them. Add the object to the
    session to save a change."""
    found = session.scalar(sa.select(CompanySettings))
    return found or CompanySettings(company_id=session.info.get("company_id"), reminders_enabled=True,
                                    reminder_lead_days=list(DEFAULT_LEAD_DAYS), remind_when_overdue=True,
                                    tax_rate_bp=0, payment_terms_days=30)
