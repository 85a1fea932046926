"""Export jobs run by the RQ worker."""
from __future__ import annotations

import uuid

from flask import current_app

from flowtrack.companies.jobs import company_session
from flowtrack.core.db import utcnow
from flowtrack.core.web import get_db
from flowtrack.exports import services
from flowtrack.invoices import logo


def storage_dir():
    return current_app.extensions["flowtrack.settings"].instance_path / "exports"


def company_files(company_id: uuid.UUID) -> dict[str, bytes]:
    """The company's files kept outside the database and outside the file storage (photos and signatures are
    listed in the manifests instead)."""
    path = logo.logo_path(current_app.extensions["flowtrack.settings"].instance_path, company_id)
    return {"files/invoice-logo.png": path.read_bytes()} if path.exists() else {}


def build_export(company_id: str, export_id: str) -> dict:
    with company_session(uuid.UUID(company_id), actor_label="export job") as session:
        export = services.build(get_db(), session, uuid.UUID(export_id), storage_dir(),
                                company_files(uuid.UUID(company_id)))
        return {"status": export.status if export else "missing"}


def delete_expired_exports() -> int:
    """Daily: free the disk of files nobody may download any more."""
    return services.delete_expired_files(get_db(), storage_dir(), utcnow())
