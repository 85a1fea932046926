"""Audit log filters, shared by the viewer and the report jobs."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from flowtrack.models.audit import AuditEntry


@dataclass(frozen=True)
class AuditFilters:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    actor: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    ip: str | None = None

    def apply(self, query: sa.Select, timezone: str) -> sa.Select:
        """Add the filters to a query on AuditEntry; dates are whole days in the company's time zone."""
        zone = ZoneInfo(timezone)
        if self.date_from:
            query = query.where(AuditEntry.occurred_at >= dt.datetime.combine(self.date_from, dt.time(), zone))
        if self.date_to:
            end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(), zone)
            query = query.where(AuditEntry.occurred_at < end)
        if self.actor:
            query = query.where(AuditEntry.actor_label.ilike(_prefix(self.actor)))
        if self.action:
            query = query.where(AuditEntry.action.like(_prefix(self.action)))
        if self.entity_type:
            query = query.where(AuditEntry.entity_type == self.entity_type)
        if self.entity_id:
            query = query.where(AuditEntry.entity_id == self.entity_id)
        if self.ip:
            query = query.where(AuditEntry.ip == self.ip)
        return query

    def to_params(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(self).items() if v}

    @classmethod
    def from_params(cls, params: dict) -> AuditFilters:
        values = {}
        for f in fields(cls):
            value = params.get(f.name)
            if value and f.name.startswith("date_"):
                value = dt.date.fromisoformat(value)
            values[f.name] = value or None
        return cls(**values)

    def describe(self) -> str:
        parts = [f"{k.replace('_', ' ')}: {v}" for k, v in self.to_params().items()]
        return "; ".join(parts) or "none (all entries)"


def _prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
