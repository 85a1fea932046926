"""What makes hints show, made through the services as the product makes it: tests (dated back to the day they
stand for), invoices sent long ago."""
from __future__ import annotations

import datetime as dt

from flowtrack.field_tests import services as testing
from flowtrack.models.customers import Device
from flowtrack.models.field_tests import TestRecord
from tests.customers.factories import Records
from tests.factories import Member, Tenant
from tests.field_tests.factories import DC_PASSING, SIGNED, file_storage_of
from tests.invoices.factories import sent_invoice
from tests.scheduling.factories import company_today

DC_FAILING = {"check1_psid": "0.4", "check2_psid": "1.8"}


def recorded_on(app, tenant: Tenant, device, day: dt.date, *, failed: bool = True, gauge=None,
              by: Member | None = None) -> TestRecord:
    """A test of a double check (failed, unless told) with `gauge` (a new kit unless given), by `by` (the company's
    technician unless given), dated back to `day` at noon UTC."""
    records = Records(app)
    gauge = gauge or records.gauge(tenant)
    submission = testing.Submission(test_type="annual", gauge_id=gauge.id,
                                    readings=DC_FAILING if failed else DC_PASSING, **SIGNED)
    with records.session(tenant) as session:
        record = testing.record_test(session, session.get(Device, device.id),
                                     (by or tenant.members["technician"]).user_id, submission,
                                     storage=file_storage_of(app))
        record.tested_at = dt.datetime.combine(day, dt.time(12), dt.timezone.utc)
    return record


def overdue_invoice(app, tenant: Tenant, customer, *, days: int, amount_cents: int = 24000):
    """An invoice sent with 30 days to pay that is now `days` past its due date."""
    return sent_invoice(app, tenant, customer=customer, amount_cents=amount_cents,
                        today=company_today(tenant) - dt.timedelta(days=days + 30))
