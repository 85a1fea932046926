"""Import jobs run by the RQ cron."""
from __future__ import annotations

from flowtrack.db import utcnow
from flowtrack.imports import services
from flowtrack.web import get_db


def forget_stale_imports() -> int:
    """Daily, for every company: delete CSV uploads checked but never imported within a week."""
    with get_db().service() as session:
        deleted = services.forget_stale_previews(session, utcnow())
        session.commit()
    return deleted
