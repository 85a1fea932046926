"""Exports: request one, build it in the worker, find it for download, forget expired files."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
import uuid
import zoneinfo
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import reports
from flowtrack.audit import services as audit
from flowtrack.audit.filters import AuditFilters
from flowtrack.core.db import Database, utcnow
from flowtrack.core.queue import ProgressRow, retried_after_failure
from flowtrack.core.storage import FileStorage
from flowtrack.exports import data_export
from flowtrack.models.companies import Company
from flowtrack.models.exports import Export

log = logging.getLogger("flowtrack.exports")

EXPORT_LIFETIME = dt.timedelta(days=7)
FILE_SUFFIX = {"data_zip": "zip", "audit_csv": "csv", "audit_pdf": "pdf"}
MEDIA_TYPE = {"data_zip": "application/zip", "audit_csv": "text/csv", "audit_pdf": "application/pdf"}
# Audit reports are a paid feature; the data export is for everyone, always.
AUDIT_REPORT_PLANS = frozenset({"professional", "enterprise"})


def request_export(session: so.Session, kind: str, requested_by: uuid.UUID, params: dict | None = None) -> Export:
    """Record the request (and audit it); the caller commits, then enqueues `build`."""
    export = Export(kind=kind, params=params, requested_by=requested_by, status="queued",
                    expires_at=utcnow() + EXPORT_LIFETIME)
    session.add(export)
    session.flush()
    audit.record(session, "export.requested", entity_type="export", entity_id=export.id,
                 changes=audit.changes_between(None, {"kind": kind, **(params or {})}))
    return export


def recent_exports(session: so.Session, kinds: tuple[str, ...], limit: int = 10) -> list[Export]:
    return list(session.scalars(sa.select(Export).where(Export.kind.in_(kinds))
                                .order_by(Export.created_at.desc()).limit(limit)))


def find_export(session: so.Session, export_id: uuid.UUID, kinds: tuple[str, ...]) -> Export | None:
    export = session.get(Export, export_id)
    return export if export is not None and export.kind in kinds else None


def file_key(export: Export) -> str:
    """Where the finished file is in the file store."""
    return f"{export.company_id}/exports/{export.id}.{FILE_SUFFIX[export.kind]}"


def download_name(company: Company, export: Export) -> str:
    stem = {"data_zip": "flowtrack-export", "audit_csv": "audit-report", "audit_pdf": "audit-report"}[export.kind]
    made = export.created_at.astimezone(zoneinfo.ZoneInfo(company.timezone))  # the company's day and hour
    return f"{stem}-{made:%Y%m%d-%H%M}.{FILE_SUFFIX[export.kind]}"


class _ProgressReporter:
    """The export's percentage, written every 2 points (not on every chunk)."""

    def __init__(self, db: Database, session: so.Session, company_id: uuid.UUID, export_id: uuid.UUID):
        self.row = ProgressRow(session, company_id, sa.update(Export).where(Export.id == export_id), db)
        self.last = -1

    def __call__(self, percent: int) -> None:
        if percent >= self.last + 2:
            self.last = percent
            self.row.write(progress=percent)

    def close(self) -> None:
        self.row.close()


def build(db: Database, session: so.Session, export_id: uuid.UUID, storage: FileStorage,
          files: dict[str, bytes] | None = None) -> Export:
    """Build the file of a queued export in `session` (a job session of its company) and hand it to the file
    store; a data export carries `files` (name in the archive -> bytes) too. The file is built in a temporary
    folder (it can be large) and streamed to the store before the row says it is done."""
    export = session.get(Export, export_id)
    if export is None or export.status == "done":
        return export  # another worker got there first, or it never existed for this company
    company = session.get(Company, export.company_id)
    export.status, export.progress = "running", 0
    session.commit()
    key = file_key(export)
    progress = _ProgressReporter(db, session, company.id, export.id)
    try:
        with tempfile.TemporaryDirectory(prefix="flowtrack-export-") as folder:
            path = Path(folder) / key.rsplit("/", 1)[1]
            # Read on the replica when there is one; the row's status and the audit entry are written here.
            with db.heavy_reads(session) as reads:
                if export.kind == "data_zip":
                    manifest = data_export.write_zip(reads, company, path, progress, files)
                    export.row_count = sum(t["rows"] for t in manifest["tables"].values())
                else:
                    write = reports.write_csv if export.kind == "audit_csv" else reports.write_pdf
                    header = write(reads, company, AuditFilters.from_params(export.params or {}), path, progress)
                    export.row_count, export.chain_head = header.entries, header.head_hash
            export.file_size = path.stat().st_size
            export.sha256 = _sha256(path)
            storage.put_file(key, path, MEDIA_TYPE[export.kind])
        export.status, export.progress, export.finished_at, export.error = "done", 100, utcnow(), None
        audit.record(session, "export.completed", entity_type="export", entity_id=export.id,
                     changes={"kind": export.kind, "rows": export.row_count, "sha256": export.sha256})
        session.commit()
    except Exception:
        log.exception("export %s failed", export_id)
        session.rollback()
        try:
            storage.delete(key)  # it may have been stored before the row could say so
        except Exception:
            log.exception("export %s: its stored file could not be removed", export_id)
        # Waiting again while the job has a retry to come (see flowtrack/core/queue.py), failed after the last.
        retried = retried_after_failure()
        session.execute(sa.update(Export).where(Export.id == export_id).values(
            status="queued" if retried else "failed",
            error=None if retried else "The file could not be built. Try again.",
            finished_at=None if retried else utcnow()))
        session.commit()
        raise
    finally:
        progress.close()
    return export


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def delete_expired_files(db: Database, storage: FileStorage, now: dt.datetime) -> int:
    """Remove files whose download window has closed (service role: all companies, daily)."""
    removed = 0
    with db.service() as session:
        for export in session.scalars(sa.select(Export).where(Export.expires_at < now, Export.status == "done")):
            if storage.exists(file_key(export)):
                storage.delete(file_key(export))
                removed += 1
    return removed


def audit_reports_allowed(company: Company) -> bool:
    return company.plan in AUDIT_REPORT_PLANS
