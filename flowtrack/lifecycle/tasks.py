"""The daily anonymization sweep, run by the RQ cron (jobs/cron.py)."""
from __future__ import annotations

from flask import current_app

from flowtrack.core.db import utcnow
from flowtrack.core.web import get_db
from flowtrack.lifecycle import anonymize


def anonymization_sweep() -> dict:
    """Anonymize every company whose grace has expired (idempotent: a second run finds nothing to do)."""
    summary = anonymize.sweep(get_db(), utcnow(), files_root=current_app.extensions["flowtrack.settings"].instance_path)
    return {status: len(summary.by_status(status)) for status in ("anonymized", "skipped", "failed")}
