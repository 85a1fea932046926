"""CSV uploads for tests, stored through the service as the upload page does."""
from flowtrack.imports import services
from tests.customers.factories import Records

ONE_ROW = b"customer_name,address_line1,city,state,postal_code\nHarbor Foods,12 Harbor St,Springfield,OR,97477\n"


def _upload(app, factory, tenant):
    with Records(app).session(tenant) as session:
        return {"upload_id": services.store_upload(session, "one.csv", ONE_ROW, None).id}


# Endpoints whose URL carries an upload id, for the cross-tenant sweep (tests/foundation/test_cross_tenant.py).
IMPORT_URLS = {endpoint: _upload for endpoint in ("imports.preview", "imports.commit", "imports.status")}
