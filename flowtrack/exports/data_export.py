"""The full data export: one ZIP with a CSV and a JSON file per table, URL manifests,
a README and a manifest of row counts and checksums.

Rows are streamed from PostgreSQL with COPY under the job's row-level security,
so memory stays flat whatever the size of the company. Only columns the app
role may read are exported, minus the secret ones: password hashes, MFA
secrets and session tokens never leave the database.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path
from typing import IO, Callable

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.config import ROLE_APP
from flowtrack.models.companies import Company

# Every table holding the company's rows is exported, so a feature's new table is never forgotten, except
# the machinery below, which is not the company's data: sign-in sessions and single-use links (secrets by
# nature), the export files' own bookkeeping, outgoing mail (a queue whose messages may carry links), and
# CSV uploads on their way in (their rows are exported as the customers, locations and devices they became), and
# the cache counters of the week board and the devices.
NOT_EXPORTED = frozenset({"auth_sessions", "account_tokens", "recovery_codes", "exports", "notification_emails",
                          "customer_imports", "schedule_versions", "device_versions"})
SECRET_COLUMNS = frozenset({"password_hash", "totp_secret", "totp_last_timecode", "token_hash", "recovery_codes",
                            "payload_salt", "mfa_recovery_codes", "link_token_hash"})
# name -> SQL listing the stored files (pictures are not in the database): each object's id and the path on the
# FlowTrack site where an admin who is signed in downloads it.
URL_MANIFESTS: dict[str, str] = {
    "device_photos": "SELECT id AS photo_id, device_id, test_record_id, caption, '/photos/' || id AS url, "
                     "'/photos/' || id || '/thumbnail' AS thumbnail_url FROM public.device_photos "
                     "WHERE company_id = %(company)s ORDER BY created_at, id",
    "service_request_photos": "SELECT p.id AS photo_id, p.request_id, '/requests/photos/' || p.id AS url, "
                              "'/requests/photos/' || p.id || '/thumbnail' AS thumbnail_url "
                              "FROM public.service_request_photos p WHERE p.company_id = %(company)s "
                              "ORDER BY p.created_at, p.id",
    "voice_notes": "SELECT id AS voice_note_id, test_record_id, duration_seconds, transcript, "
                   "'/voice-notes/' || id || '/audio' AS url FROM public.voice_notes "
                   "WHERE company_id = %(company)s ORDER BY created_at, id",
    "dataplate_photos": "SELECT id AS dataplate_read_id, location_id, '/dataplates/' || id || '/photo' AS url "
                        "FROM public.dataplate_reads WHERE company_id = %(company)s ORDER BY created_at, id",
    "test_signatures": "SELECT id AS test_id, signer, '/tests/' || id || '/signatures/' || signer AS url "
                       "FROM public.test_records, LATERAL (VALUES ('technician', technician_signature_key), "
                       "('customer', customer_signature_key)) AS s(signer, key) "
                       "WHERE company_id = %(company)s AND key IS NOT NULL ORDER BY submitted_at, id, signer",
    "quote_signatures": "SELECT id AS quote_id, number, approved_version AS version, approved_by_name AS signer, "
                        "'/quotes/' || id || '/signature' AS url FROM public.quotes "
                        "WHERE company_id = %(company)s AND approved_signature_key IS NOT NULL ORDER BY number",
    # The forms' text is in districts.csv; here, where each is edited and printed with a sample test.
    "district_report_forms": "SELECT id AS district_id, name, '/districts/' || id || '/report-form' AS url, "
                             "'/districts/' || id || '/report-form/preview.pdf' AS pdf_url FROM public.districts "
                             "WHERE company_id = %(company)s AND report_template IS NOT NULL ORDER BY name, id",
}

README = """FlowTrack data export
=====================

Company: {company}
Generated: {generated} (UTC)

csv/<table>.csv     one CSV per table, with a header row
json/<table>.json   the same rows as a JSON array of objects
manifests/*.csv     what is not in the tables as such (device photos, photos sent with service
                    requests, voice notes recorded with tests, dataplate photos not yet on a
                    device, signatures on tests and on approved quotes, districts' report
                    forms): the path on your FlowTrack address where a signed-in admin
                    downloads or opens each one
files/              the company's own files, when there are any (invoice-logo.png)
manifest.json       row counts and SHA-256 checksums of every file above

Tables: {tables}

Password hashes, MFA secrets and session tokens are never exported.
"""


class _HashingWriter:
    """Counts and hashes what passes through to a file inside the ZIP."""

    def __init__(self, target: IO[bytes]):
        self.target, self.sha256, self.size = target, hashlib.sha256(), 0

    def write(self, data) -> None:
        data = bytes(data)
        self.sha256.update(data)
        self.size += len(data)
        self.target.write(data)


def exported_tables(session: so.Session) -> list[str]:
    """The tables with a company_id column, minus the machinery, in name order."""
    names = session.execute(sa.text("""
        SELECT c.relname FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'company_id' AND NOT a.attisdropped
        WHERE c.relkind IN ('r', 'p') AND has_any_column_privilege(:role, c.oid, 'SELECT')
        ORDER BY c.relname
    """), {"role": ROLE_APP}).scalars()
    return [name for name in names if name not in NOT_EXPORTED]


def exportable_columns(session: so.Session, table: str) -> list[str]:
    """Columns the app role may read, minus secrets and generated columns (derived, e.g. a sort key)."""
    rows = session.execute(sa.text("""
        SELECT column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = :t AND is_generated = 'NEVER'
          AND has_column_privilege(:role, format('public.%I', table_name), column_name, 'SELECT')
        ORDER BY ordinal_position
    """), {"t": table, "role": ROLE_APP}).scalars()
    return [name for name in rows if name not in SECRET_COLUMNS]


def _select_sql(table: str, columns: list[str]) -> str:
    quoted = ", ".join(f'"{c}"' for c in columns)
    order = (' ORDER BY "seq"' if "seq" in columns else
             ' ORDER BY "created_at", "id"' if "created_at" in columns else "")
    return f'SELECT {quoted} FROM public."{table}" WHERE company_id = %(company)s{order}'


def _copy_csv(cursor, sql: str, company_id, out: _HashingWriter) -> int:
    rows = 0
    with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)", {"company": company_id}) as copy:
        for block in copy:
            out.write(block)
            rows += bytes(block).count(b"\n")
    return rows - 1  # the header line


def _copy_json(cursor, sql: str, company_id, out: _HashingWriter) -> None:
    out.write(b"[")
    first = True
    with cursor.copy(f"COPY (SELECT row_to_json(t)::text FROM ({sql}) t) TO STDOUT", {"company": company_id}) as copy:
        copy.set_types(["text"])
        for (document,) in copy.rows():
            out.write((b"\n" if first else b",\n") + document.encode())
            first = False
    out.write(b"\n]\n")


def write_zip(session: so.Session, company: Company, path: Path, on_progress: Callable[[int], None],
              files: dict[str, bytes] | None = None) -> dict:
    """Write the export to `path`, with `files` (name in the archive -> bytes) beside the tables; returns the
    manifest."""
    cursor = session.connection().connection.driver_connection.cursor()
    present = exported_tables(session)
    manifest = {"company": company.name, "company_id": str(company.id),
                "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "tables": {}, "manifests": {}, "files": {}}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for index, table in enumerate(present):
            columns = exportable_columns(session, table)
            sql = _select_sql(table, columns)
            with archive.open(f"csv/{table}.csv", "w", force_zip64=True) as target:
                writer = _HashingWriter(target)
                rows = _copy_csv(cursor, sql, company.id, writer)
            manifest["files"][f"csv/{table}.csv"] = {"sha256": writer.sha256.hexdigest(), "bytes": writer.size}
            with archive.open(f"json/{table}.json", "w", force_zip64=True) as target:
                writer = _HashingWriter(target)
                _copy_json(cursor, sql, company.id, writer)
            manifest["files"][f"json/{table}.json"] = {"sha256": writer.sha256.hexdigest(), "bytes": writer.size}
            manifest["tables"][table] = {"rows": rows, "columns": columns}
            on_progress(95 * (index + 1) // len(present))
        for name, sql in URL_MANIFESTS.items():
            with archive.open(f"manifests/{name}.csv", "w") as target:
                writer = _HashingWriter(target)
                rows = _copy_csv(cursor, sql, company.id, writer)
            manifest["manifests"][name] = {"rows": rows}
            manifest["files"][f"manifests/{name}.csv"] = {"sha256": writer.sha256.hexdigest(), "bytes": writer.size}
        for name, data in (files or {}).items():
            archive.writestr(name, data)
            manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        archive.writestr("README.txt", README.format(company=company.name, generated=manifest["generated_at"],
                                                     tables=", ".join(present)))
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    return manifest
