"""What each role's dashboard shows."""
from __future__ import annotations

import datetime as dt
import json
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.cache import kept
from flowtrack.core.permissions import Role
from flowtrack.due.services import due_counts
from flowtrack.models.accounts import Profile, User
from flowtrack.models.audit import AuditEntry
from flowtrack.models.customers import DeviceVersion


def team(session: so.Session) -> list[tuple[Profile, User]]:
    """The company's people, staff first."""
    return list(session.execute(
        sa.select(Profile, User).join(User, User.id == Profile.user_id).order_by(Profile.role, Profile.full_name)
    ))


def technicians_certification(people: list[tuple[Profile, User]], today: dt.date) -> list[dict]:
    """Each technician's certification, by name, from the team as `team` reads it (by name within a role)."""
    return [certification_status(profile, today) for profile, _ in people if profile.role == Role.technician.value]


def certification_status(profile: Profile, today: dt.date) -> dict:
    expires = profile.certification_expires_on
    if not profile.certification_number or expires is None:
        state = "missing"
    elif expires < today:
        state = "expired"
    elif expires <= today + dt.timedelta(days=30):
        state = "expiring"
    else:
        state = "valid"
    return {"name": profile.full_name, "number": profile.certification_number, "expires_on": expires, "state": state}


def devices_due(session: so.Session, today: dt.date) -> dict[str, int]:
    """How many active devices are overdue and due within 30 days. Counting them reads an index entry for each
    (27,000 in the large benchmark company, 3 ms of the database's time), so the counts are kept until a device
    of the company changes (its counter, migration 0022) or the company's day does."""
    version = session.scalar(sa.select(DeviceVersion.version)) or 0
    key = f"flowtrack:devices-due:{session.info['company_id']}:{today.isoformat()}:{version}"
    return json.loads(kept(key, lambda: json.dumps(due_counts(session, today))))


def recent_activity(session: so.Session, limit: int = 10) -> list[AuditEntry]:
    return list(session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)))


def own_profile(session: so.Session, profile_id: uuid.UUID) -> Profile | None:
    return session.get(Profile, profile_id)
