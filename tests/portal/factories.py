"""Portal objects for the cross-tenant sweep (tests/foundation/test_cross_tenant.py)."""
from tests.field_tests.factories import printed_test
from tests.invoices.factories import printed_invoice


def _invoice(app, factory, tenant):
    return {"invoice_id": printed_invoice(app, tenant).id}


def _certificate(app, factory, tenant):
    return {"test_id": printed_test(app, factory, tenant).id}


PORTAL_URLS = {"portal.invoice": _invoice, "portal.invoice_pdf": _invoice, "portal.pay": _invoice,
               "portal.certificate": _certificate}
