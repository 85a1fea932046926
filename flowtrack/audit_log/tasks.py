"""Audit jobs run by the RQ worker."""
from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa
from rq import get_current_job

from flowtrack.audit import services as audit
from flowtrack.companies.jobs import company_session
from flowtrack.core.queue import set_progress
from flowtrack.core.web import get_db
from flowtrack.models.companies import Company

log = logging.getLogger("flowtrack.audit")


def verify_company_chain(company_id: str) -> dict:
    """Verify one company's chain under its own tenant context and record that it was checked."""
    job = get_current_job()
    company = uuid.UUID(company_id)
    with company_session(company, actor_label="chain verification") as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(audit.AuditEntry)) or 1
        result = audit.verify_chain(session, company,
                                    on_progress=lambda done: set_progress(job, 100 * done // total))
        audit.record(session, "audit.verified", entity_type="company", entity_id=company,
                     changes={"ok": result.ok, "entries": result.entries, "head": result.head_hex,
                              "problem": result.problem})
        session.commit()
    set_progress(job, 100)
    return {"ok": result.ok, "entries": result.entries, "head_seq": result.head_seq, "head": result.head_hex,
            "problem": result.problem}


def log_chain_heads() -> int:
    """Write every company's chain head to the log, a copy outside the database (daily cron)."""
    with get_db().service() as session:
        companies = session.scalars(sa.select(Company.id).where(Company.tombstoned_at.is_(None))).all()
        for company_id in companies:
            seq, head = audit.chain_head(session, company_id)
            log.info("audit chain head company=%s seq=%s hash=%s", company_id, seq, head)
    return len(companies)


def prune_audit_logs() -> int:
    """Daily: apply each plan's audit retention, keeping a checkpoint so the rest still verifies."""
    with get_db().service() as session:
        pruned = audit.apply_retention(session, audit.utcnow())
    for company_id, count in pruned.items():
        log.info("audit retention company=%s removed=%s", company_id, count)
    return sum(pruned.values())
