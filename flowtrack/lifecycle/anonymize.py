"""Deletion on cancellation: the grace clock and the daily anonymization sweep.

A cancelled subscription pins `deletion_clock_starts_at` to the paid period's
end (see flowtrack/billing/services.py). From then the company is read-only
for GRACE_DAYS, then the sweep anonymizes it, one transaction per company, in
the order the data-handling page promises (seed 002, section 5):

1. invoices' `customer_snapshot` frozen with the customer's identity fields,
2. invoices' `customer_id` nulled,
3. audit_log identity stripped (the hash chain still verifies),
4. the companies row tombstoned,
5. DELETED_TABLES deleted, login identities last.

Three safety layers must all pass before the first write: the company exists,
its subscription is canceled, and its clock is at least GRACE_DAYS old. The
sweep is idempotent (a tombstoned company is done) and catches up missed days
(it takes every company whose grace has expired, not those expiring today).
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import SQLAlchemyError

from flowtrack.audit import services as audit
from flowtrack.companies.state import deletion_date, grace_expired
from flowtrack.core.db import Database, utcnow
from flowtrack.core.directory import forget_addresses
from flowtrack.core.storage import FileStorage
from flowtrack.models.companies import Company

log = logging.getLogger("flowtrack.lifecycle")

# What is left of an anonymized company: its tombstone, invoices without a customer, audit entries without
# identity, and the ids of the Stripe events that got it there.
SURVIVING_TABLES = ("companies", "invoices", "audit_log", "audit_checkpoints", "stripe_events")

# Everything else, in the promised order; where a foreign key needs a child gone first, it goes first
# (see `deletion_order`). Names without a table (yet) are skipped. Our additions to the promised list sit
# beside their kin: districts and gauges (issue 3), the devices' and the week board's counters, a work order's
# devices and price lines, the windows customers book their tests in and their bookings, the parts inventory (its
# ledger, levels, places and parts), cards on file and autopay charges, test reports' submissions to districts (and
# their batches, and the districts' lists of assemblies), the addresses mail no longer goes to, exports, customers'
# service requests and their photos, the vendors, the hints the office dismissed and their counter, the sign-in
# pieces of a login identity, and the voice notes of tests and the photos of dataplates read for new devices.
DELETED_TABLES = (
    "service_request_photos", "service_requests", "customers", "customer_locations", "districts", "devices",
    "device_versions", "gauges", "stock_movements", "stock_levels", "stock_places", "parts",
    "report_submissions", "submission_batches", "district_assemblies", "voice_notes", "test_records",
    "device_photos", "dataplate_reads",
    "quote_lines", "quotes", "work_orders", "work_order_devices", "work_order_lines",
    "scheduled_jobs", "schedule_versions", "booking_windows", "bookings", "dismissed_hints", "hint_versions",
    "notification_log", "notification_emails", "email_suppressions",
    "company_settings", "invoice_counters", "payments", "autopay_charges", "saved_cards", "price_items", "exports",
    "customer_imports", "queued_jobs",
    "profiles", "vendors",
    "account_tokens", "recovery_codes", "users", "auth_sessions",
)

# Copied from the customer into each invoice's snapshot (where the snapshot lacks them) before the customer goes.
IDENTITY_FIELDS = ("name", "company_name", "contact_name", "email", "phone", "billing_address", "address",
                   "address_line1", "address_line2", "city", "state", "postal_code")

TOMBSTONE_NAME = "Deleted company"
SWEEP_ACTOR = audit.Actor(user_id=None, label="anonymization sweep")


# --- the sweep ----------------------------------------------------------------------------------------------

@dataclass
class CompanyResult:
    company_id: uuid.UUID
    status: str  # anonymized, would_anonymize (dry run), skipped, failed
    reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    files_removed: int = 0


@dataclass
class SweepSummary:
    now: dt.datetime
    dry_run: bool
    results: list[CompanyResult]

    def by_status(self, status: str) -> list[CompanyResult]:
        return [r for r in self.results if r.status == status]

    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for result in self.results:
            for table, count in result.counts.items():
                totals[table] = totals.get(table, 0) + count
        return totals


def _check_clock(now: dt.datetime, dry_run: bool) -> None:
    # A clock set ahead would delete data before the promised date; a dry run may look ahead.
    if not dry_run and now > utcnow() + dt.timedelta(minutes=5):
        raise ValueError("refusing to anonymize with a time in the future; use --dry-run to look ahead")


def sweep(db: Database, now: dt.datetime, dry_run: bool = False, *, storage: FileStorage | None = None) -> SweepSummary:
    """Anonymize every company whose grace has expired, each in its own transaction; log a summary. With the
    file store, each anonymized company's stored files are removed after its commit. A company moving to another
    region is left for the next run, in the region it has moved to."""
    _check_clock(now, dry_run)
    with db.service() as session:
        candidates = session.scalars(
            sa.select(Company.id).where(Company.tombstoned_at.is_(None), Company.deletion_clock_starts_at.is_not(None),
                                        Company.moving_to.is_(None))
            .order_by(Company.deletion_clock_starts_at, Company.id)
        ).all()
        tombstoned = session.scalars(sa.select(Company.id).where(Company.tombstoned_at.is_not(None))).all()
    results = [anonymize_company(db, company_id, now, dry_run=dry_run, storage=storage)
               for company_id in candidates]
    if storage is not None and not dry_run:
        # Files whose removal failed after an earlier commit are retried until they are gone.
        for company_id in tombstoned:
            removed = delete_stored_files(storage, company_id)
            if removed:
                log.info("sweep: removed %d leftover stored files of anonymized company %s", removed, company_id)
    summary = SweepSummary(now, dry_run, results)
    _log_summary(summary)
    return summary


def anonymize_company(db: Database, company_id: uuid.UUID, now: dt.datetime, *, dry_run: bool = False,
                      storage: FileStorage | None = None) -> CompanyResult:
    """Check the three safety layers, then anonymize one company in one transaction (rolled back on any error)."""
    _check_clock(now, dry_run)
    session = db.service_session()
    try:
        company = session.scalar(sa.select(Company).where(Company.id == company_id).with_for_update())
        refusal = _safety_refusal(company, now)
        if refusal:
            session.rollback()
            return CompanyResult(company_id, "skipped", refusal)
        emails = list(session.scalars(sa.text("SELECT email FROM users WHERE company_id = :c"), {"c": company_id}))
        counts = _anonymize(session, company)
        if dry_run:
            session.rollback()
            return CompanyResult(company_id, "would_anonymize", counts=counts)
        session.commit()
    except Exception as error:
        session.rollback()
        log.exception("sweep: anonymizing company %s failed; rolled back, nothing of it changed", company_id)
        return CompanyResult(company_id, "failed", f"{type(error).__name__}: {str(error).splitlines()[0][:300]}")
    finally:
        session.close()
    try:
        forget_addresses(emails)
    except SQLAlchemyError:
        # The company is deleted; only keyed hashes of its people's addresses stay in the directory.
        log.exception("sweep: the directory kept the addresses of anonymized company %s", company_id)
    files = delete_stored_files(storage, company_id) if storage is not None else 0
    return CompanyResult(company_id, "anonymized", counts=counts, files_removed=files)


def _safety_refusal(company: Company | None, now: dt.datetime) -> str | None:
    """Why the company must not be touched, or None when all three layers pass."""
    if company is None:
        return "identity: no such company"
    if company.tombstoned_at is not None:
        return "identity: already anonymized"
    if company.subscription_status != "canceled":
        return f"cancellation: subscription is {company.subscription_status!r}, not 'canceled'"
    if company.deletion_clock_starts_at is None:
        return "grace: no deletion clock is set"
    if not grace_expired(company, now):
        return f"grace: expires {deletion_date(company).isoformat()}"
    return None


def _anonymize(session: so.Session, company: Company) -> dict[str, int]:
    company_id = company.id
    tables = _tenant_tables(session)
    counts: dict[str, int] = {}
    if "invoices" in tables and {"customer_snapshot", "customer_id"} <= _columns(session, "invoices"):
        counts["invoices_frozen"] = _freeze_invoice_snapshots(session, company_id, tables)
        counts["invoices_customer_nulled"] = session.execute(sa.text(
            "UPDATE invoices SET customer_id = NULL WHERE company_id = :c AND customer_id IS NOT NULL"),
            {"c": company_id}).rowcount
    counts["other_references_nulled"] = _detach_survivors(session, company_id, tables)
    counts["audit_entries_stripped"] = audit.strip_identity(session, company_id)
    # The Stripe ids would lead back to the customer record at Stripe, and the company's own Stripe account (where
    # its customers paid) to the company; a late event then matches no company.
    company.name = TOMBSTONE_NAME
    company.stripe_customer_id = company.stripe_subscription_id = company.stripe_account_id = None
    company.tombstoned_at = utcnow()
    session.flush()
    for table in deletion_order(session, [t for t in DELETED_TABLES if t in tables]):
        counts[table] = session.execute(sa.text(f'DELETE FROM public."{table}" WHERE company_id = :c'),
                                        {"c": company_id}).rowcount
    left = remaining_rows(session, company_id)
    if left:
        raise RuntimeError(f"rows would remain in tables the sweep does not know: {sorted(left)}")
    audit.record(session, "company.anonymized", entity_type="company", entity_id=company_id, company_id=company_id,
                 actor=SWEEP_ACTOR, changes={"rows": counts})
    return counts


def _tenant_tables(session: so.Session) -> set[str]:
    """Tables that hold rows of a company (a company_id column)."""
    return set(session.scalars(sa.text("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'company_id' AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
    """)))


def _columns(session: so.Session, table: str) -> set[str]:
    return set(session.scalars(sa.text("SELECT column_name FROM information_schema.columns "
                                       "WHERE table_schema = 'public' AND table_name = :t"), {"t": table}))


def _foreign_keys(session: so.Session) -> list[sa.Row]:
    """(child, column, parent) of every single-column foreign key between public tables."""
    return session.execute(sa.text("""
        SELECT child.relname AS child, a.attname AS column, parent.relname AS parent
        FROM pg_constraint k
        JOIN pg_class child ON child.oid = k.conrelid
        JOIN pg_class parent ON parent.oid = k.confrelid
        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
        WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace
    """)).all()


def _freeze_invoice_snapshots(session: so.Session, company_id: uuid.UUID, tables: set[str]) -> int:
    """Keep the billed identity on each invoice; fields the snapshot already holds (as billed) win."""
    if "customers" not in tables:
        return 0
    fields = sorted(set(IDENTITY_FIELDS) & _columns(session, "customers"))
    return session.execute(sa.text("""
        UPDATE invoices i
        SET customer_snapshot = (SELECT COALESCE(jsonb_object_agg(key, value), '{}'::jsonb)
                                 FROM jsonb_each(to_jsonb(c)) WHERE key = ANY(:fields))
                                || COALESCE(i.customer_snapshot, '{}'::jsonb)
        FROM customers c
        WHERE i.company_id = :c AND c.id = i.customer_id
    """), {"c": company_id, "fields": fields}).rowcount


def _detach_survivors(session: so.Session, company_id: uuid.UUID, tables: set[str]) -> int:
    """Null any other reference a surviving row holds to a row about to be deleted (or the delete would fail)."""
    doomed = set(DELETED_TABLES) & tables
    nulled = 0
    for key in _foreign_keys(session):
        if key.child in SURVIVING_TABLES and key.child in tables and key.parent in doomed:
            nulled += session.execute(sa.text(
                f'UPDATE public."{key.child}" SET "{key.column}" = NULL '
                f'WHERE company_id = :c AND "{key.column}" IS NOT NULL'), {"c": company_id}).rowcount
    return nulled


def deletion_order(session: so.Session, tables: list[str]) -> list[str]:
    """`tables` in their given order, except that a table goes only after the tables that reference it."""
    referenced_by: dict[str, set[str]] = {t: set() for t in tables}
    for key in _foreign_keys(session):
        if key.parent in referenced_by and key.child in referenced_by and key.child != key.parent:
            referenced_by[key.parent].add(key.child)
    order: list[str] = []
    remaining = list(tables)
    while remaining:
        ready = next((t for t in remaining if not referenced_by[t] & set(remaining)), None)
        if ready is None:
            raise RuntimeError(f"foreign keys form a cycle among {remaining}")
        order.append(ready)
        remaining.remove(ready)
    return order


def remaining_rows(session: so.Session, company_id: uuid.UUID) -> dict[str, int]:
    """Rows of the company in tables that must not keep any after anonymization (walks the catalog)."""
    left = {}
    for table in sorted(_tenant_tables(session) - set(SURVIVING_TABLES)):
        count = session.scalar(sa.text(f'SELECT count(*) FROM public."{table}" WHERE company_id = :c'),
                               {"c": company_id})
        if count:
            left[table] = count
    return left


def delete_stored_files(storage: FileStorage, company_id: uuid.UUID) -> int:
    """Remove the company's stored files: everything under its id in the file store (photos, signatures, the
    logo, exports, printed test reports and invoice PDFs; the surviving invoice rows are the record, their
    printed copies go). Runs after the commit: a crash in between leaves files without rows (removed by the
    next sweep), never rows pointing at missing files."""
    return storage.delete_prefix(str(company_id))


def _log_summary(summary: SweepSummary) -> None:
    mode = "dry run" if summary.dry_run else "sweep"
    for result in summary.results:
        if result.status in ("anonymized", "would_anonymize"):
            counts = " ".join(f"{table}={count}" for table, count in result.counts.items())
            log.info("%s: company=%s %s %s files=%d", mode, result.company_id, result.status, counts,
                     result.files_removed)
        elif result.status == "skipped":
            log.info("%s: company=%s skipped (%s)", mode, result.company_id, result.reason)
        else:
            log.error("%s: company=%s failed (%s)", mode, result.company_id, result.reason)
    totals = " ".join(f"{table}={count}" for table, count in sorted(summary.totals().items()))
    log.info("%s at %s: %d anonymized, %d would be, %d skipped, %d failed; rows: %s", mode, summary.now.isoformat(),
             len(summary.by_status("anonymized")), len(summary.by_status("would_anonymize")),
             len(summary.by_status("skipped")), len(summary.by_status("failed")), totals or "none")
