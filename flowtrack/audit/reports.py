"""Audit reports for auditors: CSV (streamed with COPY) and PDF (rendered in chunks, merged).

Both state the range, the filters, the number of entries and the chain head,
so an auditor can later prove the log was not changed since.
"""
from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import render_template
from pypdf import PdfWriter

from flowtrack.audit.filters import AuditFilters
from flowtrack.audit.services import chain_head
from flowtrack.core import pdf
from flowtrack.models.audit import AuditEntry
from flowtrack.models.companies import Company

CSV_COLUMNS = (
    AuditEntry.seq, AuditEntry.occurred_at, AuditEntry.actor_label, AuditEntry.ip, AuditEntry.user_agent,
    AuditEntry.action, AuditEntry.entity_type, AuditEntry.entity_id, AuditEntry.changes,
    sa.func.encode(AuditEntry.entry_hash, "hex").label("entry_hash"),
    sa.func.encode(AuditEntry.prev_hash, "hex").label("prev_hash"),
)
# WeasyPrint lays out a preformatted block several times faster than a table; a chunk
# this size renders in a few seconds, and chunks render in parallel on every core.
PDF_CHUNK = 4000

Progress = Callable[[int], None]


@dataclass
class ReportHeader:
    company_name: str
    filters: AuditFilters
    entries: int
    head_seq: int
    head_hash: str
    generated_at: dt.datetime
    timezone: str


def _filtered(session: so.Session, company: Company, filters: AuditFilters, *columns) -> sa.Select:
    query = sa.select(*columns).where(AuditEntry.company_id == company.id)
    return filters.apply(query, company.timezone)


def report_header(session: so.Session, company: Company, filters: AuditFilters) -> ReportHeader:
    count = session.scalar(_filtered(session, company, filters, sa.func.count()))
    head_seq, head = chain_head(session, company.id)
    return ReportHeader(company.name, filters, count, head_seq, head, dt.datetime.now(dt.timezone.utc),
                        company.timezone)


def write_csv(session: so.Session, company: Company, filters: AuditFilters, path: Path,
              on_progress: Progress) -> ReportHeader:
    """Stream the entries as CSV through PostgreSQL's COPY, under the session's row-level security."""
    header = report_header(session, company, filters)
    query = _filtered(session, company, filters, *CSV_COLUMNS).order_by(AuditEntry.seq)
    compiled = query.compile(dialect=session.get_bind().dialect)
    copy_sql = f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    cursor = session.connection().connection.driver_connection.cursor()
    written = 0
    with path.open("wb") as out:
        for line in _preamble(header):
            out.write(f"# {line}\n".encode())
        with cursor.copy(copy_sql, compiled.params) as copy:
            for block in copy:
                out.write(block)
                written += bytes(block).count(b"\n")
                on_progress(min(99, 100 * written // max(header.entries, 1)))
    return header


def _preamble(header: ReportHeader) -> list[str]:
    return [
        f"FlowTrack audit report for {header.company_name}",
        f"Generated {header.generated_at.isoformat(timespec='seconds')} (times in the report are UTC)",
        f"Filters: {header.filters.describe()}",
        f"Entries: {header.entries}",
        f"Chain head: #{header.head_seq} {header.head_hash}",
        "Verify later with: flowtrack audit verify --company <id> --head <chain head hash>",
    ]


def _pdf_line(entry) -> str:
    who = (entry.actor_label or "(removed)")[:32]
    what = f"{entry.action} {entry.entity_type or ''} {entry.entity_id or ''}".strip()
    return f"{entry.seq:>8}  {entry.occurred_at.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M:%S}  {who:<32}  " \
           f"{(entry.ip or '-'):<15}  {what}"


def write_pdf(session: so.Session, company: Company, filters: AuditFilters, path: Path,
              on_progress: Progress) -> ReportHeader:
    """Render the header page, then the entries in chunks on every core, and merge them in order."""
    header = report_header(session, company, filters)
    writer = PdfWriter()
    writer.append(io.BytesIO(html_to_pdf(render_template("audit/report_cover.html", header=header,
                                                         preamble=_preamble(header)))))
    query = _filtered(session, company, filters, AuditEntry.seq, AuditEntry.occurred_at, AuditEntry.actor_label,
                      AuditEntry.ip, AuditEntry.action, AuditEntry.entity_type, AuditEntry.entity_id
                      ).order_by(AuditEntry.seq).execution_options(yield_per=PDF_CHUNK)
    workers = max(1, os.cpu_count() or 1)
    done = 0
    # A fresh interpreter per renderer (forkserver): no copy of this process's database connections.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
        pending: deque = deque()
        for chunk in session.execute(query).partitions(PDF_CHUNK):
            html = render_template("audit/report_chunk.html", header=header, lines=[_pdf_line(e) for e in chunk],
                                   first=chunk[0].seq, last=chunk[-1].seq)
            pending.append((pool.submit(html_to_pdf, html), len(chunk)))
            # Keep only a few chunks in flight so memory stays flat however long the report.
            while len(pending) > 2 * workers:
                done = _append_next(writer, pending, done, header, on_progress)
        while pending:
            done = _append_next(writer, pending, done, header, on_progress)
    with path.open("wb") as out:
        writer.write(out)
    return header


def _append_next(writer: PdfWriter, pending: deque, done: int, header: ReportHeader, on_progress: Progress) -> int:
    future, rows = pending.popleft()
    writer.append(io.BytesIO(future.result()))
    done += rows
    on_progress(min(99, 100 * done // max(header.entries, 1)))
    return done


def html_to_pdf(html: str) -> bytes:
    return pdf.print_pdf(html)
