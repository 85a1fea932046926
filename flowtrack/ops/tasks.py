"""The operator's jobs that the cron runs (jobs/cron.py): the daily backup."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app

from flowtrack.core.config import setting
from flowtrack.core.storage import file_storage
from flowtrack.ops import backup

log = logging.getLogger("flowtrack.ops")


def backup_folder() -> Path | None:
    """Where the daily backups go: FLOWTRACK_BACKUP_DIR (None when unset)."""
    folder = setting("FLOWTRACK_BACKUP_DIR")
    return Path(folder) if folder else None


def backup_database_url() -> str:
    """Who dumps the database: BACKUP_DATABASE_URL (a role that can read every table), else DATABASE_URL."""
    return setting("BACKUP_DATABASE_URL") or current_app.extensions["flowtrack.settings"].database_url


def take_daily_backup() -> dict:
    """Daily: the database and the stored files into FLOWTRACK_BACKUP_DIR, keeping the newest seven backups.
    Without the folder production fails the job (it shows as failed), other environments skip it."""
    folder = backup_folder()
    if folder is None:
        if current_app.extensions["flowtrack.settings"].production:
            raise backup.BackupError("FLOWTRACK_BACKUP_DIR is not set: no daily backup was taken")
        log.warning("daily backup skipped: FLOWTRACK_BACKUP_DIR is not set")
        return {"skipped": "FLOWTRACK_BACKUP_DIR is not set"}
    result = backup.daily_backup(backup_database_url(), file_storage(), folder)
    log.info("daily backup %s (%d bytes) with %d stored files; %d old backup files removed", result.dump,
             result.dump.stat().st_size, result.files, len(result.removed))
    return {"dump": str(result.dump), "files": result.files, "removed": [str(path) for path in result.removed]}
