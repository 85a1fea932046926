"""The district admin answers the reports sent through the district view at a desk: accepts one, rejects another
with the reason; the office finds the rejection on its dashboard and its list of reports to districts, with the
reason, and knows to amend the test."""
from flowtrack.models.customers import District
from tests.customers.factories import Records
from tests.district_portal.factories import districts  # noqa: F401 (the fixture)
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_office_records import OVERFLOW


def test_the_district_rejects_a_report_and_the_office_sees_why(app, visit, acme, districts):  # noqa: F811
    area = districts.area(acme, "Lane County Water")
    with Records(app).session(acme) as session:
        session.get(District, area.district.id).submission_method = "district_view"
    districts.tested(acme, districts.device(area, serial="DC-ANS1"), printed=True)
    districts.tested(acme, districts.device(area, serial="DC-ANS2"), printed=True)

    desk = visit(DESKTOP)
    desk.sign_in(area.admin.email, area.admin.password)
    page = desk.page
    page.click("text=Reports to answer")
    page.wait_for_selector("h1:has-text('reports to answer')")
    desk.screenshot("district-answers")
    assert desk.axe_violations() == []
    page.locator("li:has-text('DC-ANS1') button.primary").click()
    page.wait_for_selector("text=Accepted.")
    page.locator("li:has-text('DC-ANS2') textarea").fill("The test kit's serial does not match our records.")
    page.locator("li:has-text('DC-ANS2') button.danger").click()
    page.wait_for_selector("text=Rejected: the testing company sees your reason.")
    assert "Nothing waits for your answer." in page.inner_text("main")
    desk.assert_clean()

    office = visit(PHONE)
    manager = acme.members["manager"]
    office.sign_in(manager.email, manager.password)
    dashboard = office.page
    assert "rejected by the district, to amend and send again" in dashboard.inner_text("#district-reports")
    dashboard.click("#district-reports a")
    dashboard.click("a:has-text('Lane County Water')")
    dashboard.wait_for_selector("text=The test kit's serial does not match our records.")
    assert "Amend the test" in dashboard.inner_text("main") and "Accepted" in dashboard.inner_text("main")
    assert dashboard.evaluate(OVERFLOW) == []
    office.screenshot("office-rejected")
    assert office.axe_violations() == []
    office.assert_clean()
