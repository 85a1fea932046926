"""Device jobs run by the RQ worker: a dataplate's photo read."""
from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa

from flowtrack.companies.jobs import company_session
from flowtrack.core.queue import retried_after_failure
from flowtrack.core.storage import file_storage
from flowtrack.devices import dataplates
from flowtrack.models.field_help import DataplateRead, ReadingStatus

log = logging.getLogger("flowtrack.devices")


def read_dataplate(company_id: str, read_id: str) -> dict:
    """Read a dataplate's photo into proposed fields; the device form polls the progress. A plate read already (or
    whose device was saved since) is left as it is, so the job may run twice."""
    with company_session(uuid.UUID(company_id), actor_label="dataplate job", writes=True) as session:
        read = session.get(DataplateRead, uuid.UUID(read_id))
        if read is None or read.status == ReadingStatus.done.value:
            return {"status": read.status if read else "missing"}
        try:
            dataplates.read_plate(session, file_storage(), read)
        except Exception:
            log.exception("dataplate %s could not be read", read_id)
            session.rollback()
            session.execute(sa.update(DataplateRead).where(DataplateRead.id == uuid.UUID(read_id)).values(
                status=(ReadingStatus.queued if retried_after_failure() else ReadingStatus.failed).value, progress=0))
            session.commit()
            raise
        return {"status": read.status, "fields": sorted(read.proposal)}
