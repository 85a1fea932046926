"""Import jobs run by the RQ worker and its cron."""
from __future__ import annotations

import uuid

from flowtrack.companies.jobs import company_session
from flowtrack.companies.services import company_today
from flowtrack.core.db import utcnow
from flowtrack.core.web import get_db
from flowtrack.imports import services


def import_file(company_id: str, upload_id: str, attempt_id: str, user_id: str | None) -> str:
    """Import an upload the office started (`services.start_import`), all rows or none."""
    with company_session(uuid.UUID(company_id), actor_label="import job", writes=True) as session:
        return services.run_import(get_db(), session, uuid.UUID(upload_id), uuid.UUID(attempt_id),
                                   uuid.UUID(user_id) if user_id else None, company_today(session))


def forget_stale_imports() -> int:
    """Daily, for every company: delete CSV uploads checked but never imported within a week."""
    with get_db().service() as session:
        deleted = services.forget_stale_previews(session, utcnow())
        session.commit()
    return deleted
