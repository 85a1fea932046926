"""The admin reads what each role may do and gives a new person the Scheduler's role; the scheduler, the
coordinator and the inventory manager each start on a dashboard of their own work, in a real browser."""
from tests.customers.factories import Records
from tests.e2e.conftest import DESKTOP, PHONE
from tests.scheduling.factories import Planner


def test_the_admin_reads_the_roles_and_each_new_role_finds_its_own_work(app, visit, acme):
    records = Records(app)
    device = records.device(acme, records.location(acme, records.customer(acme, name="Harbor Dairy")),
                            device_type="RP")
    Planner(app).assign(acme, device)
    records.gauge(acme, serial="K-204")

    tab = visit(DESKTOP)
    tab.sign_in(acme.members["company_admin"].email, acme.members["company_admin"].password)
    page = tab.go("/team/")
    page.click("text=What each role may do")
    page.wait_for_selector("h1:has-text('What each role may do')")
    header = page.locator(".role-matrix thead th").all_inner_texts()
    assert header[1:] == ["Admin", "Manager", "Scheduler", "Coordinator", "Inventory manager", "Technician",
                          "Auditor", "Vendor", "Customer portal", "Requester", "District admin"]
    invoices = page.locator(".role-matrix tr", has_text="Make, send, void and credit invoices")
    assert invoices.locator("td .visually-hidden").all_inner_texts()[:5] == ["yes", "yes", "no", "no", "no"]
    tab.screenshot("roles")
    tab.assert_clean()

    seen = {}
    for role in ("scheduler", "coordinator", "inventory_manager"):
        person = visit(DESKTOP)
        person.sign_in(acme.members[role].email, acme.members[role].password)
        dashboard = person.go("/dashboard/")
        seen[role] = dashboard.locator("main h2").all_inner_texts()
        person.screenshot(f"dashboard-{role}")
        person.assert_clean()
    assert "Today's jobs" in seen["scheduler"] and "Tests to plan" in seen["scheduler"]
    assert "Tests to plan" in seen["coordinator"] and "Money owed" not in seen["coordinator"]
    assert seen["inventory_manager"][:1] == ["Test kits"]

    phone = visit(PHONE)
    phone.sign_in(acme.members["company_admin"].email, acme.members["company_admin"].password)
    phone.go("/team/roles")
    phone.screenshot("roles-phone")
    phone.assert_clean()
