"""Water districts: their contacts, report form and due-date rule. Plain functions on a session, audited."""
from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError

from flowtrack.audit import services as audit
from flowtrack.core.db import new_id
from flowtrack.core.forms import clean
from flowtrack.devices import services as devices
from flowtrack.devices.due_dates import FIXED_DATE
from flowtrack.field_tests import report
from flowtrack.models.accounts import Profile
from flowtrack.models.customers import REQUIRABLE_LABELS, CustomerLocation, District, SubmissionMethod

# The report form has its own page and its own audit entry (`save_report_form`).
DISTRICT_FIELDS = ("name", "contact_name", "contact_phone", "report_email", "requires_customer_signature",
                   "test_interval_months", "due_anchor", "fixed_due_month", "fixed_due_day", "early_window_days",
                   "due_end_of_month", "submission_method", "portal_url", "deadline_days", "fee_cents",
                   "fee_passed_on", "required_fields", "wants_failed", "auto_accept")
RULE_FIELDS = ("test_interval_months", "due_anchor", "fixed_due_month", "fixed_due_day", "early_window_days",
               "due_end_of_month")


class DistrictError(Exception):
    """A change the rules refuse; `field` names the form field the message belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def snapshot(district: District) -> dict[str, Any]:
    return {field: getattr(district, field) for field in DISTRICT_FIELDS}


def list_districts(session: so.Session) -> list[tuple[District, int]]:
    """Every district by name, with how many service locations are in it."""
    locations = (sa.select(sa.func.count()).select_from(CustomerLocation)
                 .where(CustomerLocation.district_id == District.id).scalar_subquery())
    return list(session.execute(sa.select(District, locations).order_by(sa.func.lower(District.name), District.id)))


def choices(session: so.Session) -> list[tuple[str, str]]:
    """(id, name) of every district, for a location's district select."""
    rows = session.execute(sa.select(District.id, District.name).order_by(sa.func.lower(District.name)))
    return [(str(district_id), name) for district_id, name in rows]


def get_district(session: so.Session, district_id: uuid.UUID) -> District | None:
    return session.get(District, district_id)


def _apply(session: so.Session, district: District, values: dict[str, Any]) -> None:
    unknown = set(values) - set(DISTRICT_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    for field, value in values.items():
        setattr(district, field, clean(value) if isinstance(value, str) else value)
    if district.report_email:
        district.report_email = district.report_email.lower()
    district.required_fields = [name for name in REQUIRABLE_LABELS if name in (district.required_fields or [])]
    district.fee_cents = district.fee_cents or 0
    if district.submission_method == SubmissionMethod.email.value and not district.report_email:
        raise DistrictError("report_email", "Give the address the test reports are emailed to.")
    if district.due_anchor != FIXED_DATE:
        district.fixed_due_month = district.fixed_due_day = None
    try:
        devices.due_rule(district)
    except ValueError as error:
        raise DistrictError("due_anchor", str(error).capitalize() + ".") from None
    with session.no_autoflush:  # the unique index must not see the new name before this check has
        same_name = session.scalar(sa.select(District.id).where(
            sa.func.lower(District.name) == sa.func.lower(district.name), District.id != district.id))
    if same_name:
        raise DistrictError("name", "There is already a district with this name.")


def create_district(session: so.Session, **values: Any) -> District:
    district = District(id=new_id(), test_interval_months=12, due_anchor="last_test", early_window_days=0,
                        due_end_of_month=False, submission_method=SubmissionMethod.paper.value, fee_cents=0,
                        fee_passed_on=False, required_fields=[], wants_failed=True, auto_accept=False)
    _apply(session, district, values)
    session.add(district)
    session.flush()
    audit.record(session, "district.created", entity_type="district", entity_id=district.id,
                 changes=audit.changes_between(None, snapshot(district)))
    return district


def update_district(session: so.Session, district: District, **values: Any) -> int:
    """Change a district; a changed due-date rule reschedules its devices. Returns how many were rescheduled."""
    before = snapshot(district)
    _apply(session, district, values)
    changes = audit.changes_between(before, snapshot(district))
    if not changes:
        return 0
    session.flush()
    rescheduled = 0
    if any(field in changes for field in RULE_FIELDS):
        rescheduled = devices.refresh_due_dates(session, district_id=district.id)
    audit.record(session, "district.updated", entity_type="district", entity_id=district.id,
                 changes={**changes, **({"devices_rescheduled": rescheduled} if rescheduled else {})})
    return rescheduled


def report_form_text(source: str | None) -> str | None:
    """What a submitted form is stored as: None for the standard form (left empty, or our form unchanged, so a
    district that never changed it gets our later improvements), else the text with the browser's CRLFs made LFs."""
    text = (source or "").replace("\r\n", "\n")
    if not text.strip() or text.strip() == report.DEFAULT_FORM.strip():
        return None
    return text


def sample_report(source: str | None) -> str:
    """The submitted form (empty: ours) filled in with the sample test, as HTML; DistrictError when it cannot be."""
    try:
        return report.sample_form(report_form_text(source))
    except report.FormTemplateError as problem:
        raise DistrictError("report_template", str(problem)) from None


def sample_report_pdf(source: str | None) -> bytes:
    """The submitted form printed with the sample test, as the worker prints real reports."""
    html = sample_report(source)
    try:
        return report.print_pdf(html)
    except Exception as error:  # the admin's HTML and CSS go to WeasyPrint as written; its failure is the form's
        raise DistrictError("report_template", f"The form cannot be printed: {error}") from None


def save_report_form(session: so.Session, district: District, source: str | None) -> bool:
    """Keep the district's own report form (None or empty: ours); refuse one that does not compile or cannot be
    filled in with the sample test. Returns whether it changed."""
    text = report_form_text(source)
    if text is not None:
        try:
            report.sample_form(text)
        except report.FormTemplateError as problem:
            raise DistrictError("report_template", str(problem)) from None
    if text == district.report_template:
        return False
    before, district.report_template = district.report_template, text
    session.flush()
    audit.record(session, "district.report_form_changed", entity_type="district", entity_id=district.id,
                 changes=audit.changes_between({"report_template": before}, {"report_template": text}))
    return True


def _still_used(session: so.Session, district: District) -> DistrictError | None:
    """What refers to the district and what to do about it, or None when nothing does."""
    in_use = session.scalar(sa.select(sa.func.count()).select_from(CustomerLocation)
                            .where(CustomerLocation.district_id == district.id))
    if in_use:
        return DistrictError("name", f"{district.name} is the district of {in_use} service location"
                                     f"{'s' if in_use != 1 else ''}. Move them to another district first.")
    admins = session.scalar(sa.select(sa.func.count()).select_from(Profile).where(Profile.district_id == district.id))
    if admins:
        return DistrictError("name", f"{district.name} is the district of {admins} district admin"
                                     f"{'s' if admins != 1 else ''}. Give them another district on the team page "
                                     "first.")
    return None


def delete_district(session: so.Session, district: District) -> None:
    """Remove a district that no service location is in and no district admin belongs to."""
    refused = _still_used(session, district)
    if refused:
        raise refused
    before = snapshot(district)
    try:
        with session.begin_nested():  # a location put in it meanwhile: refused the same way, not a 500
            session.delete(district)
            session.flush()
    except IntegrityError:
        raise _still_used(session, district) or DistrictError(
            "name", f"Something was just put in {district.name}. Reload the page and try again.") from None
    audit.record(session, "district.deleted", entity_type="district", entity_id=district.id,
                 changes=audit.changes_between(before, None))
