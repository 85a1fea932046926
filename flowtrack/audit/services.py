"""The tamper-evident audit chain: record, verify, strip identity, prune.

Each entry's `entry_hash` is sha256 over the previous entry's hash and a
canonical JSON of its sequence number, company, time, action, entity and
`payload_digest`. The payload (actor, IP, user agent, before/after) is
covered only through `payload_digest = sha256(salt || payload)`, so the
anonymization sweep can erase the payload and salt and the chain still
verifies. Retention pruning deletes a prefix of the chain and keeps the last
deleted entry's hash as a checkpoint where verification starts.

Writers in one company serialize on a transaction-level advisory lock, so
two concurrent requests can never both append sequence N (and the unique
(company_id, seq) key would refuse it anyway).
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.db import insert_all, lock_company_chain, new_id, utcnow
from flowtrack.models.audit import AuditCheckpoint, AuditEntry
from flowtrack.models.companies import Company

GENESIS_HASH = bytes(32)


@dataclass(frozen=True)
class Actor:
    """Who did it, from where. Services read it from `session.info["audit_actor"]`."""

    user_id: uuid.UUID | None
    label: str | None
    ip: str | None = None
    user_agent: str | None = None


SYSTEM = Actor(user_id=None, label="system")


def jsonable(value: Any) -> Any:
    """Values as JSON that survives a round trip through JSONB unchanged."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal, float)):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def changes_between(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Before/after of the fields that differ (all fields for a create or a delete)."""
    before, after = before or {}, after or {}
    changed = {}
    for key in sorted(set(before) | set(after)):
        old, new = jsonable(before.get(key)), jsonable(after.get(key))
        if old != new:
            changed[key] = {"before": old, "after": new}
    return changed


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def _payload(entry: AuditEntry) -> dict[str, Any]:
    return {
        "actor_user_id": str(entry.actor_user_id) if entry.actor_user_id else None,
        "actor_label": entry.actor_label,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "changes": entry.changes,
    }


def payload_digest(entry: AuditEntry) -> bytes:
    return hashlib.sha256(entry.payload_salt + _canonical(_payload(entry))).digest()


def entry_hash(entry: AuditEntry) -> bytes:
    content = {
        "company_id": str(entry.company_id),
        "seq": entry.seq,
        "occurred_at": _timestamp(entry.occurred_at),
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "payload_digest": entry.payload_digest.hex(),
    }
    return hashlib.sha256(entry.prev_hash + _canonical(content)).digest()


def _chain_tip(session: so.Session, company_id: uuid.UUID) -> tuple[int, bytes]:
    last = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.entry_hash)
        .where(AuditEntry.company_id == company_id)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    if last:
        return last.seq, last.entry_hash
    # A vendor's session reads nothing of the log (migration 0038): the database gives it the tip to hash over.
    tip = session.execute(sa.text("SELECT seq, entry_hash FROM audit_chain_tip()")).first() \
        if not session.info.get("service") else None
    if tip:
        return tip.seq, tip.entry_hash
    checkpoint = session.get(AuditCheckpoint, company_id)
    if checkpoint:
        return checkpoint.seq, checkpoint.entry_hash
    return 0, GENESIS_HASH


@dataclass(frozen=True)
class Event:
    """One thing that happened, for `record_many`."""

    action: str
    entity_type: str | None = None
    entity_id: Any = None
    changes: dict[str, Any] | None = None


def record(
    session: so.Session,
    action: str,
    *,
    entity_type: str | None = None,
    entity_id: Any = None,
    changes: dict[str, Any] | None = None,
    company_id: uuid.UUID | None = None,
    actor: Actor | None = None,
) -> AuditEntry:
    """Append an entry to the company's chain in the caller's transaction."""
    [entry] = record_many(session, [Event(action, entity_type, entity_id, changes)], company_id=company_id,
                          actor=actor)
    return entry


def record_many(session: so.Session, events: Iterable[Event], *, company_id: uuid.UUID | None = None,
                actor: Actor | None = None) -> list[AuditEntry]:
    """Append entries in order with one lock, one read of the chain's tip and one batched insert (an import's
    thousands of records cost a second, not a statement each)."""
    company_id = company_id or session.info["company_id"]
    actor = actor or session.info.get("audit_actor") or SYSTEM
    lock_company_chain(session, company_id)
    last_seq, last_hash = _chain_tip(session, company_id)
    entries = []
    for event in events:
        entry = AuditEntry(
            id=new_id(),
            company_id=company_id,
            seq=last_seq + 1,
            occurred_at=utcnow(),
            action=event.action,
            entity_type=event.entity_type,
            entity_id=str(event.entity_id) if event.entity_id is not None else None,
            actor_user_id=actor.user_id,
            actor_label=actor.label,
            ip=actor.ip,
            user_agent=(actor.user_agent or "")[:400] or None,
            changes=jsonable(event.changes) if event.changes else None,
            payload_salt=os.urandom(16),
            prev_hash=last_hash,
        )
        entry.payload_digest = payload_digest(entry)
        entry.entry_hash = entry_hash(entry)
        last_seq, last_hash = entry.seq, entry.entry_hash
        entries.append(entry)
    insert_all(session, entries)
    return entries


@dataclass
class Verification:
    company_id: uuid.UUID
    ok: bool
    entries: int
    head_seq: int
    head_hash: bytes
    problem: str | None = None
    bad_seq: int | None = None

    @property
    def head_hex(self) -> str:
        return self.head_hash.hex()


def verify_chain(session: so.Session, company_id: uuid.UUID, *, expected_head: str | None = None,
                 on_progress: Callable[[int], None] | None = None) -> Verification:
    """Walk a company's chain from its checkpoint (or the start) and report the first broken link."""
    company = session.get(Company, company_id)
    checkpoint = session.get(AuditCheckpoint, company_id)
    expected_seq, prev = (checkpoint.seq + 1, checkpoint.entry_hash) if checkpoint else (1, GENESIS_HASH)
    count = 0

    def broken(seq: int, problem: str) -> Verification:
        return Verification(company_id, False, count, expected_seq - 1, prev, problem, seq)

    rows: Iterable[AuditEntry] = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.company_id == company_id).order_by(AuditEntry.seq)
        .execution_options(yield_per=2000)
    )
    for entry in rows:
        if entry.seq != expected_seq:
            return broken(entry.seq, f"entry {expected_seq} is missing (found {entry.seq} next)")
        if entry.prev_hash != prev:
            return broken(entry.seq, f"entry {entry.seq} does not link to the entry before it")
        if entry.payload_salt is not None:
            if payload_digest(entry) != entry.payload_digest:
                return broken(entry.seq, f"entry {entry.seq}: who/what changed after it was written")
        elif entry.stripped_at is None or company is None or company.tombstoned_at is None:
            return broken(entry.seq, f"entry {entry.seq}: payload removed outside the anonymization sweep")
        if entry_hash(entry) != entry.entry_hash:
            return broken(entry.seq, f"entry {entry.seq}: content changed after it was written")
        prev = entry.entry_hash
        expected_seq += 1
        count += 1
        if on_progress and count % 5000 == 0:
            on_progress(count)
    if expected_head and expected_head != prev.hex():
        return broken(expected_seq - 1, "the chain head differs from the head recorded outside the database")
    return Verification(company_id, True, count, expected_seq - 1, prev)


def strip_identity(session: so.Session, company_id: uuid.UUID) -> int:
    """Erase who/where/what-values from a company's entries (service role, anonymization sweep)."""
    result = session.execute(
        sa.update(AuditEntry)
        .where(AuditEntry.company_id == company_id, AuditEntry.stripped_at.is_(None))
        .values(actor_user_id=None, actor_label=None, ip=None, user_agent=None, changes=None,
                payload_salt=None, stripped_at=utcnow())
    )
    return result.rowcount


def prune_before(session: so.Session, company_id: uuid.UUID, cutoff: dt.datetime) -> int:
    """Delete entries older than `cutoff` (service role, retention) and move the checkpoint forward."""
    lock_company_chain(session, company_id)
    last_old = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.entry_hash)
        .where(AuditEntry.company_id == company_id, AuditEntry.occurred_at < cutoff)
        .order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    if last_old is None:
        return 0
    checkpoint = session.get(AuditCheckpoint, company_id)
    if checkpoint is None:
        checkpoint = AuditCheckpoint(company_id=company_id)
        session.add(checkpoint)
    checkpoint.seq, checkpoint.entry_hash, checkpoint.pruned_at = last_old.seq, last_old.entry_hash, utcnow()
    deleted = session.execute(
        sa.delete(AuditEntry).where(AuditEntry.company_id == company_id, AuditEntry.seq <= last_old.seq)
    ).rowcount
    return deleted


def chain_head(session: so.Session, company_id: uuid.UUID) -> tuple[int, str]:
    seq, head = _chain_tip(session, company_id)
    return seq, head.hex()


# Days of audit history kept per plan; None keeps everything.
RETENTION_DAYS = {"basic": 30, "professional": 365, "enterprise": None}


def apply_retention(session: so.Session, now: dt.datetime) -> dict[uuid.UUID, int]:
    """Prune every company's entries older than its plan keeps (service role; daily cron, idempotent). A company
    moving to another region waits for the next day: its rows are being copied."""
    pruned = {}
    companies = session.execute(sa.select(Company.id, Company.plan).where(Company.tombstoned_at.is_(None),
                                                                          Company.moving_to.is_(None))).all()
    for company_id, plan in companies:
        days = RETENTION_DAYS.get(plan)
        if days is None:
            continue
        count = prune_before(session, company_id, now - dt.timedelta(days=days))
        if count:
            record(session, "audit.pruned", entity_type="company", entity_id=company_id, company_id=company_id,
                   changes={"entries_removed": count, "retention_days": days})
            pruned[company_id] = count
        session.commit()
    return pruned
