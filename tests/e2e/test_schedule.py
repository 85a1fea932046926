"""The office plans the week by dragging jobs on the board (and without a mouse, by form); the technician works
the day on a phone."""
import datetime as dt

from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_office_records import OVERFLOW
from tests.invoices.factories import printed_invoice
from tests.scheduling.factories import company_today, planner  # noqa: F401 (the fixture)

NO_PAGE_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_the_office_plans_due_devices_and_drags_them_onto_the_board(visit, acme, records, planner):  # noqa: F811
    today = company_today(acme)
    overdue = today - dt.timedelta(days=400)
    harbor = records.customer(acme, name="Harbor View Apartments")
    device = records.device(acme, records.location(acme, harbor, address_line1="123 Main Street"),
                            serial="HV-1", install_date=overdue)
    records.device(acme, records.location(acme, address_line1="9 Mill Road"), serial="MR-1", install_date=overdue)
    # A day the board shows and that is not in the past: this week's Saturday, or next week's if today is Sunday.
    target = today + dt.timedelta(days=(5 - today.weekday()) % 7)
    if target < today:
        target += dt.timedelta(days=7)

    tab = visit(DESKTOP)
    tab.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = tab.go("/due/?window=overdue")
    page.check(f"#plan-{device.id}")
    page.click("text=Create work orders")
    page.wait_for_selector("text=1 work order created.")
    assert "Harbor View Apartments" in page.inner_text(".board-tray")
    assert tab.axe_violations() == []

    page = tab.go(f"/schedule/?week={target.isoformat()}")
    technician = acme.members["technician"].user_id
    cell = f'.board-cell[data-technician="{technician}"][data-day="{target.isoformat()}"]'
    page.locator(".board-tray .job-card").first.drag_to(page.locator(cell))
    page.wait_for_selector("#board >> text=Moved.")
    assert "07:00–09:00" in page.inner_text(cell) and "Harbor View Apartments" in page.inner_text(cell)
    assert page.locator(".board-tray").count() == 0
    tab.screenshot("booked-by-drag")

    # The same move without a mouse: the card's link opens a form.
    page.focus(f"{cell} >> text=Reschedule")
    page.keyboard.press("Enter")
    page.wait_for_selector("#starts")
    page.fill("#starts", "10:00")
    page.fill("#ends", "11:30")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Saved.")
    assert "10:00–11:30" in page.inner_text(cell)
    assert tab.axe_violations() == []
    tab.assert_clean()


def test_the_technician_works_the_day_on_a_phone(visit, acme, records, planner):  # noqa: F811
    today = company_today(acme)
    location = records.location(acme, address_line1="400 Mill Road", site_contact_name="Dana Ruiz",
                                site_contact_phone="541-555-0101", access_notes="Meter room behind the dock")
    planner.job(acme, day=today, starts=dt.time(8), ends=dt.time(10),
                      order=planner.work_order(acme, location=location))

    tab = visit(PHONE)
    tab.sign_in(acme.members["technician"].email, acme.members["technician"].password)
    page = tab.go("/my-day/")
    assert "Dana Ruiz" in page.inner_text("main") and "08:00–10:00" in page.inner_text("main")
    assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []
    page.click("text=Open job")
    page.click("text=Start job")
    page.wait_for_selector("text=Job started.")
    page.select_option("select[name=reason]", "customer_refused")
    page.click("text=Save")
    page.wait_for_selector("text=Could not test: customer refused")
    page.click("text=Complete job")
    page.wait_for_selector("text=Job completed.")
    assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []
    tab.screenshot("job-completed")
    assert page.url.endswith("/my-day/")  # on to the next stop
    assert "Could not test: customer refused" in page.inner_text("main") and "Completed" in page.inner_text("main")
    tab.assert_clean()


def test_the_planning_billing_and_reminder_pages_pass_axe_and_fit_a_phone(visit, acme, planner, app):  # noqa: F811
    job = planner.job(acme)
    invoice = printed_invoice(app, acme)
    paths = ["/schedule/", f"/work-orders/{job.work_order_id}", "/work-orders/", f"/schedule/jobs/{job.id}/edit",
             "/reminders/", "/invoices/", f"/invoices/{invoice.id}", "/invoices/aging", "/invoices/prices",
             f"/schedule/day/{acme.members['technician'].user_id}/{company_today(acme).isoformat()}"]
    for viewport in (PHONE, DESKTOP):
        tab = visit(viewport)
        tab.sign_in(acme.members["manager"].email, acme.members["manager"].password)
        for path in paths:
            page = tab.go(path)
            assert tab.axe_violations() == [], path
            assert page.evaluate(NO_PAGE_SCROLL), path
        tab.screenshot("phone" if viewport is PHONE else "desktop")
        tab.assert_clean()
