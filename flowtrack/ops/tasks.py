"""The operator's jobs that the cron runs (jobs/cron.py): the daily backup."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app

from flowtrack.core.config import setting
from flowtrack.core.regions import current_region
from flowtrack.core.storage import file_storage
from flowtrack.ops import backup

log = logging.getLogger("flowtrack.ops")


def backup_folder() -> Path | None:
    """Where the daily backups go: FLOWTRACK_BACKUP_DIR (None when unset); another region's into its own folder
    in it (`<dir>/ca`), so that one region's backups are never among another's (docs/regions.md)."""
    folder = setting("FLOWTRACK_BACKUP_DIR")
    if not folder:
        return None
    region = current_region()
    return Path(folder) if region.home else Path(folder) / region.name


def backup_database_url() -> str:
    """Who dumps the region's database: BACKUP_DATABASE_URL (`CA_BACKUP_DATABASE_URL` for region ca: a role that
    can read every table), else the region's administrative URL."""
    region = current_region()
    return setting(("" if region.home else region.name.upper() + "_") + "BACKUP_DATABASE_URL") \
        or region.settings.database_url


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
