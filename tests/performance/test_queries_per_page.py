"""The number of SQL statements a page runs does not grow with the data."""
import pytest

from flowtrack.audit import services as audit
from flowtrack.ops.seed_large import fill_records
from tests.factories import Factory

# Statements each page runs for a signed-in admin. The session lookup (which also loads the company, needed by the
# deletion banner and most pages) rides with the transaction's BEGIN and the login token, in one message, so it
# is no statement of its own; a page that needs more must say why here. The dashboard: the team (whose
# technicians give the certifications too), the device and schedule counters its kept counts of devices due are
# keyed on (one statement; the counts themselves, one more, only once after a device or the schedule changed),
# recent activity, today's jobs by technician, the week's answers to quotes, and one statement for the money owed,
# the kits due, what waits for the office (requests, bookings, stock, reports to districts) and the new company's
# set-up steps; and the hints, kept in Redis under three counters (one statement; reading them anew, a few more,
# only once after what they are read from changed; flowtrack/hints/services.py), and the dismissed among them.
# The team page: the MFA setting, the members, and the water districts a district admin may be given.
STATEMENTS = {"/dashboard/": 8, "/audit/": 2, "/account/export/": 1, "/team/": 3}
PAGES = list(STATEMENTS)


def _grow(app, factory, tenant, members: int, entries: int):
    for _ in range(members):
        factory.member(tenant.id, "technician")
    with app.extensions["flowtrack.db"].service() as s:
        for n in range(entries):
            audit.record(s, "device.updated", entity_type="device", entity_id=str(n), company_id=tenant.id)
        s.commit()


@pytest.mark.parametrize("path", PAGES)
def test_queries_per_page_do_not_grow_with_the_data(app, factory, acme, admin, count_queries, path):
    admin.get(path)  # warm up: first-request work is not the page's
    with count_queries() as small:
        assert admin.get(path).status_code == 200
    _grow(app, factory, acme, members=25, entries=400)
    admin.get(path)  # new technicians change the schedule's counter: the dashboard counts devices due once more
    with count_queries() as large:
        assert admin.get(path).status_code == 200
    assert len(large) == len(small), (path, len(small), len(large))
    assert len(small) <= STATEMENTS[path], small


# The work pages, on two companies filled by the large seed's generators at a small and a ten times larger size
# (tests, work orders with jobs on this week's board and on the technician's day, invoices, devices due). The session
# lookup goes with the BEGIN, as above. The week board: the week's jobs with their orders, places and customers, the
# orders' devices, the technicians, the open orders and their devices. The technician's day: their jobs with orders,
# places and customers, the orders' devices, and their profile. The invoices: one page of them with their customers,
# and which of them autopay failed to charge. The due list: the districts to filter by, a page of devices, and the
# technicians.
WORK_PAGES = {("/schedule/", "manager"): 5, ("/my-day/", "technician"): 3, ("/invoices/", "manager"): 2,
              ("/due/", "manager"): 3}


@pytest.fixture(scope="module")
def filled(app):
    factory = Factory(app)
    tenants = {"small": factory.tenant("Small Fill"), "large": factory.tenant("Large Fill")}
    for size, tenant in tenants.items():
        fill_records(app.extensions["flowtrack.db"], tenant.id, customers=50 if size == "small" else 500,
                     echo=lambda message: None)
    return tenants


@pytest.mark.parametrize("path, role", list(WORK_PAGES))
def test_work_pages_run_as_many_statements_at_ten_times_the_data(filled, login, count_queries, path, role):
    counts = {}
    for size, tenant in filled.items():
        browser = login(tenant, role)
        browser.get(path)  # warm up: first-request work is not the page's
        with count_queries() as statements:
            response = browser.get(path)
        assert response.status_code == 200
        counts[size] = statements
    assert len(counts["large"]) == len(counts["small"]), (path, counts)
    assert len(counts["small"]) <= WORK_PAGES[path, role], counts["small"]
