"""Export jobs run by the RQ worker."""
from __future__ import annotations

import uuid

from flowtrack.companies.jobs import company_session
from flowtrack.core.db import utcnow
from flowtrack.core.storage import file_storage
from flowtrack.core.web import get_db
from flowtrack.exports import services
from flowtrack.invoices import logo


def company_files(company_id: uuid.UUID) -> dict[str, bytes]:
    """The company's own files that go into its data export (photos, signatures and report forms are listed in
    the manifests instead)."""
    png = logo.logo_png(file_storage(), company_id)
    return {"files/invoice-logo.png": png} if png is not None else {}


def build_export(company_id: str, export_id: str) -> dict:
    with company_session(uuid.UUID(company_id), actor_label="export job") as session:
        export = services.build(get_db(), session, uuid.UUID(export_id), file_storage(),
                                company_files(uuid.UUID(company_id)))
        return {"status": export.status if export else "missing"}


def delete_expired_exports() -> int:
    """Daily: free the file store of files nobody may download any more."""
    return services.delete_expired_files(get_db(), file_storage(), utcnow())
