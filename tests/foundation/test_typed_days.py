"""Days typed into a form or an address (flowtrack/core/dates.py's typed_day, flowtrack/core/forms.py's DayField):
one out of any plausible range (9999-12-31, 0001-01-01) is refused in words, like a day that is no day. Before,
9999-12-31 reached a "the day after" or "the week of" that Python's dates cannot hold (a 500) on the week board,
a technician's day, a job's form, the audit log's filters and the district portal's."""
import pytest

from tests.customers.factories import records  # noqa: F401  (the fixture)
from tests.district_portal.factories import district_admin_of, districts, eweb  # noqa: F401  (the fixtures)
from tests.scheduling.factories import company_today, planner  # noqa: F401  (the fixture)
from tests.security.test_error_pages import assert_our_page

OUT_OF_RANGE = "Choose a day from 1900 to 2199."


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_day_beyond_any_plausible_one_is_refused_in_words_wherever_it_is_typed(
        app, acme, admin, technician, district_admin_of, eweb, planner, day):  # noqa: F811
    for path in (f"/district/?tested_to={day}", f"/district/?tested_from={day}"):
        refused = district_admin_of(eweb).get(path)
        assert refused.status_code == 422 and OUT_OF_RANGE in refused.text, path
    assert district_admin_of(eweb).get(f"/district/tests.csv?tested_to={day}").status_code == 422
    audit = admin.get(f"/audit/?date_to={day}")
    assert audit.status_code == 422 and audit.text.count(OUT_OF_RANGE) == 1

    assert_our_page(admin.get(f"/schedule/?week={day}"), 400, "Not a date; open the board from the menu.")
    assert_our_page(technician.get(f"/my-day/?date={day}"), 400, "Not a date.")
    technician_id = acme.members["technician"].user_id
    assert admin.get(f"/schedule/day/{technician_id}/{day}").status_code == 404

    job = planner.job(acme)
    moved = admin.submit(f"/schedule/jobs/{job.id}/edit", {
        "technician": str(technician_id), "day": day, "starts": "09:00", "ends": "11:00"})
    assert moved.status_code == 422 and moved.text.count(OUT_OF_RANGE) == 1
    dropped = admin.submit("/schedule/place", {"work_order": str(job.work_order_id), "technician": str(technician_id),
                                               "day": day, "week": day})
    assert dropped.status_code == 400 and "That move was not understood" in dropped.text


def test_days_of_this_century_and_the_next_are_days(admin, acme):
    today = company_today(acme)
    assert admin.get(f"/schedule/?week={today.isoformat()}").status_code == 200
    assert admin.get("/audit/?date_from=1900-01-01&date_to=2199-12-31").status_code == 200
