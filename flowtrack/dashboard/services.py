"""What each role's dashboard shows."""
from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.models.accounts import Profile, Role, User
from flowtrack.models.audit import AuditEntry


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


def recent_activity(session: so.Session, limit: int = 10) -> list[AuditEntry]:
    return list(session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)))


def own_profile(session: so.Session, profile_id: uuid.UUID) -> Profile | None:
    return session.get(Profile, profile_id)
