"""The number of SQL statements a page runs does not grow with the data."""
import pytest

from flowtrack.audit import services as audit

# Statements each page runs for a signed-in admin. The session lookup also loads the company (which the
# deletion banner and most pages need), and the login token rides with the transaction's BEGIN, so neither
# costs a statement of its own; a page that needs more must say why here. The dashboard: team,
# certifications, devices due (one count of both windows) and recent activity. The team page: the MFA setting,
# the members, and the water districts a district admin may be given.
STATEMENTS = {"/dashboard/": 5, "/audit/": 3, "/account/export/": 2, "/team/": 4}
PAGES = list(STATEMENTS)


def _grow(app, factory, tenant, members: int, entries: int):
    for n in range(members):
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
    with count_queries() as large:
        assert admin.get(path).status_code == 200
    assert len(large) == len(small), (path, len(small), len(large))
    assert len(small) <= STATEMENTS[path], small
