"""The demo company's district admin is linked to its first water district, so the district view has something."""
import re

from flowtrack.ops.seed import seed_records
from tests.factories import file_store


def test_the_demo_district_admin_sees_the_first_districts_devices(app, factory, login):
    tenant = factory.tenant("Demo")
    with app.app_context():
        seed_records(app.extensions["flowtrack.db"], tenant.company, file_store(app))
    page = login(tenant, "district_admin").get("/district/devices")
    assert "Eugene Water &amp; Electric Board: devices" in page.text
    assert re.findall(r"<strong>([A-Z0-9-]+)</strong>", page.text) == ["DE-1001", "DE-1002", "DE-1003", "DE-1004",
                                                                       "DE-4001"]
