"""Test reports filed with water districts, made as the office and the worker make them."""
from __future__ import annotations

import sqlalchemy as sa

from flowtrack.models.submissions import ReportSubmission
from tests.customers.factories import Records
from tests.factories import Tenant
from tests.field_tests.factories import printed_test


def district_device(app, tenant: Tenant, **district_fields):
    """A district that takes reports as told, and a device at a place in it."""
    records = Records(app)
    district = records.district(tenant, **district_fields)
    device = records.device(tenant, records.location(tenant, district_id=district.id), device_type="DC")
    return district, device


def submission_of(app, test_id) -> ReportSubmission | None:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(ReportSubmission).where(ReportSubmission.test_record_id == test_id))


def filed_test(app, factory, tenant: Tenant, **district_fields):
    """A printed test of a device in a district (on paper unless told), and its submission."""
    district_fields.setdefault("submission_method", "paper")
    _, device = district_device(app, tenant, **district_fields)
    record = printed_test(app, factory, tenant, device)
    return record, submission_of(app, record.id)


def _district(app, factory, tenant):
    return {"district_id": Records(app).district(tenant).id}


def _submission(app, factory, tenant):
    return {"submission_id": filed_test(app, factory, tenant)[1].id}


SUBMISSION_URLS = {
    **{endpoint: _district for endpoint in ("submissions.district", "submissions.import_list",
                                            "submissions.list_columns")},
    **{endpoint: _submission for endpoint in ("submissions.submitted", "submissions.check_again",
                                              "submissions.outcome")},
}
