"""The daily anonymization sweep, run by the RQ cron (jobs/cron.py)."""
from __future__ import annotations

from flowtrack.core.db import utcnow
from flowtrack.core.storage import file_storage
from flowtrack.core.web import get_db
from flowtrack.lifecycle import anonymize


def anonymization_sweep() -> dict:
    """Anonymize every company whose grace has expired (idempotent: a second run finds nothing to do)."""
    summary = anonymize.sweep(get_db(), utcnow(), storage=file_storage())
    return {status: len(summary.by_status(status)) for status in ("anonymized", "skipped", "failed")}
