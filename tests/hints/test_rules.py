"""The hints' rules, case by case: when each shows, what it says, and the key that keeps it dismissed until its facts
change."""
import datetime as dt
import uuid

import pytest

from flowtrack.hints import rules
from flowtrack.hints.rules import (
    AskRow,
    DeviceHistory,
    DueRow,
    JobRow,
    KitRow,
    OverdueRow,
    TechnicianRow,
    TestRow,
    VisitRow,
)

DAY = dt.date(2026, 9, 9)
DEVICE, PLACE, TECH = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def history(*results, quoted_on=None):
    """The tests of RP 1001, newest first, one a year back from DAY."""
    tests = [TestRow(uuid.UUID(int=index + 1), DAY.replace(year=DAY.year - index), result)
             for index, result in enumerate(results)]
    return DeviceHistory(DEVICE, PLACE, "RP 1001", tests, quoted_on)


@pytest.mark.parametrize("results, shows, says", [
    (("fail", "fail"), True, "failed on Sep 9, 2025 and Sep 9, 2026: 2 of its last three tests"),
    (("fail", "pass", "fail"), True, "failed on Sep 9, 2024 and Sep 9, 2026: 2 of its last three tests"),
    (("pass", "fail", "fail"), True, "failed on Sep 9, 2024 and Sep 9, 2025: 2 of its last three tests"),
    (("fail", "fail", "fail"), True, "failed on Sep 9, 2024, Sep 9, 2025 and Sep 9, 2026: each of its last three"),
    (("fail", "pass", "pass", "fail"), False, None),   # the older failure is not among the last three
    (("fail",), False, None),
    (("pass", "pass", "pass"), False, None),
    (("removed", "fail", "pass"), False, None),
])
def test_an_assembly_that_failed_two_of_its_last_three_tests_is_offered_for_replacement(results, shows, says):
    hint = rules.replacement(history(*results))
    assert (hint is not None) == shows
    if shows:
        assert hint.title == "Replace RP 1001?" and says in hint.reason
        latest_failure = next(index for index, result in enumerate(results) if result == "fail")
        assert hint.key == f"replace:{DEVICE}:{uuid.UUID(int=latest_failure + 1)}"


def test_a_quote_made_since_the_latest_failure_settles_it_and_an_older_one_does_not():
    assert rules.replacement(history("fail", "fail", quoted_on=DAY)) is None
    assert rules.replacement(history("fail", "fail", quoted_on=DAY - dt.timedelta(days=1))) is not None


def test_a_new_failure_gives_the_hint_a_new_key():
    before = rules.replacement(history("fail", "fail"))
    newer = DeviceHistory(DEVICE, PLACE, "RP 1001", [TestRow(uuid.uuid4(), DAY + dt.timedelta(days=30), "fail"),
                                                     *history("fail", "fail").tests], None)
    assert rules.replacement(newer).key != before.key


def test_days_in_words_say_each_year_once():
    assert rules.in_words([dt.date(2026, 9, 9), dt.date(2026, 3, 3)]) == "Mar 3 and Sep 9, 2026"
    assert rules.in_words([dt.date(2025, 12, 3), dt.date(2026, 3, 3), dt.date(2026, 9, 9)]) == \
        "Dec 3, 2025, Mar 3 and Sep 9, 2026"
    assert rules.in_words([dt.date(2026, 1, 2)]) == "Jan 2, 2026"


VISIT = VisitRow(uuid.uuid4(), PLACE, "12 Harbor Way", DAY)


def due(label, days_after_visit, place=PLACE):
    return DueRow(uuid.uuid5(uuid.NAMESPACE_DNS, label), place, label, DAY + dt.timedelta(days=days_after_visit))


@pytest.mark.parametrize("rows, named", [
    ([due("DC 7", 60)], ["DC 7"]),                       # due on the 60th day after the visit
    ([due("DC 7", 61)], []),
    ([due("DC 7", -30)], ["DC 7"]),                      # overdue already
    ([due("DC 7", 10, place=uuid.uuid4())], []),         # at another place
    ([due("PVB 9", 40), due("DC 7", 5)], ["DC 7", "PVB 9"]),
])
def test_devices_due_within_60_days_of_a_booked_visit_at_their_place_are_offered_for_it(rows, named):
    hint = rules.devices_for_the_visit(VISIT, rows)
    assert (hint is not None) == bool(named)
    if named:
        assert [row.label for row in sorted(rows, key=lambda r: r.due_on) if row.label in named] == named
        assert all(label in hint.reason for label in named) and "12 Harbor Way" in hint.reason
        assert "within 60 days of the visit booked there for Sep 9, 2026" in hint.reason
        assert hint.work_order_id == VISIT.work_order_id and len(hint.device_ids) == len(named)


def test_the_visit_hint_says_when_each_was_due_and_changes_key_when_another_falls_due():
    one = rules.devices_for_the_visit(VISIT, [due("DC 7", -30)])
    assert one.title == "Add a device to the visit on Sep 9?"
    assert "DC 7 (was due Aug 10, 2026) at 12 Harbor Way is due" in one.reason
    two = rules.devices_for_the_visit(VISIT, [due("DC 7", -30), due("PVB 9", 40)])
    assert two.title == "Add 2 devices to the visit on Sep 9?" and two.key != one.key
    assert two.key == rules.devices_for_the_visit(VISIT, [due("PVB 9", 40), due("DC 7", -30)]).key


def job(days_after, place="12 Harbor Way"):
    return JobRow(uuid.uuid5(uuid.NAMESPACE_DNS, f"{place}{days_after}"), TECH, place, DAY + dt.timedelta(days_after))


def tech(expires=None, kit_due=None):
    kit = KitRow(uuid.UUID(int=7), "Midwest G-100", kit_due) if kit_due else None
    return TechnicianRow(TECH, "Dana Lee", expires, kit)


def test_a_certification_expiring_before_a_booked_job_says_which_and_how_many():
    hints = rules.readiness(tech(expires=DAY + dt.timedelta(days=2)), [job(1), job(3), job(5, "8 Dock Road")])
    [hint] = hints
    assert hint.kind == "certification" and hint.title == "Dana Lee's certification expires before a booked job"
    assert hint.reason.startswith("Dana Lee's tester certification expires on Sep 11, 2026, before the job booked "
                                  "for Sep 12, 2026 at 12 Harbor Way and 1 more job after it.")
    assert hint.key == f"certification:{TECH}:2026-09-11" and hint.day == DAY + dt.timedelta(days=3)
    assert len(hint.work_order_ids) == 2


@pytest.mark.parametrize("expires, kit_due, kinds", [
    (DAY + dt.timedelta(days=1), None, []),        # valid through the day it expires: the job is that day
    (DAY, None, ["certification"]),
    (None, DAY, ["kit"]),                           # a kit due on the job's eve is refused on the job's day
    (None, DAY + dt.timedelta(days=1), []),
    (DAY, DAY, ["certification", "kit"]),
    (None, None, []),                               # no certification on file and no kit known: the board says so
])
def test_kit_and_certification_are_judged_on_the_jobs_day(expires, kit_due, kinds):
    assert [hint.kind for hint in rules.readiness(tech(expires, kit_due), [job(1)])] == kinds


def test_the_kit_hint_names_the_kit_and_its_key_changes_with_its_calibration():
    [hint] = rules.readiness(tech(kit_due=DAY), [job(4)])
    assert hint.title == "Test kit Midwest G-100 is due for calibration before a booked job"
    assert "which Dana Lee tested with last, is due for calibration on Sep 9, 2026, before the job booked for " \
           "Sep 13, 2026 at 12 Harbor Way" in hint.reason
    assert hint.key == f"kit:{TECH}:{uuid.UUID(int=7)}:2026-09-09" and hint.gauge_id == uuid.UUID(int=7)
    [recalibrated] = rules.readiness(tech(kit_due=DAY + dt.timedelta(days=2)), [job(4)])
    assert recalibrated.key != hint.key


def test_another_technicians_jobs_do_not_count():
    other = JobRow(uuid.uuid4(), uuid.uuid4(), "1 Elsewhere", DAY + dt.timedelta(days=9))
    assert rules.readiness(tech(expires=DAY), [other]) == []


CUSTOMER = uuid.uuid4()
ASK = AskRow("request", uuid.uuid4(), CUSTOMER, "Harbor Dairy", DAY)


def invoice(number, days_overdue, balance=24000, customer=CUSTOMER):
    return OverdueRow(uuid.UUID(int=number), number, customer, balance, DAY - dt.timedelta(days=days_overdue))


@pytest.mark.parametrize("invoices, shows", [
    ([invoice(1042, 60)], True),
    ([invoice(1042, 59)], False),
    ([invoice(1042, 90, balance=0)], False),
    ([invoice(1042, 90, customer=uuid.uuid4())], False),
])
def test_a_customer_owing_an_invoice_60_days_overdue_who_asks_for_work_is_flagged(invoices, shows):
    hint = rules.old_debt([ASK], invoices, DAY)
    assert (hint is not None) == shows
    if shows:
        assert hint.title == "Harbor Dairy has an invoice 60 days overdue"
        assert hint.reason == ("Harbor Dairy owes $240.00 on invoice 1042, due Jul 11, 2026 (60 days overdue), "
                               "and asked for service.")
        assert hint.request_id == ASK.id and hint.key == f"overdue:{CUSTOMER}:{uuid.UUID(int=1042)}"


def test_several_old_invoices_are_added_up_and_the_oldest_named():
    work = AskRow("work_order", uuid.uuid4(), CUSTOMER, "Harbor Dairy", DAY)
    hint = rules.old_debt([work], [invoice(1050, 61, 1000), invoice(1042, 95, 24000), invoice(1060, 10, 500)], DAY)
    assert hint.reason == ("Harbor Dairy owes $250.00 on 2 invoices 60 days or more overdue, the oldest invoice "
                           "1042, due Jun 6, 2026 (95 days overdue), and has new work booked or planned.")
    assert hint.work_order_id == work.id and hint.invoice_id == uuid.UUID(int=1042)


def test_one_hint_per_customer_names_all_it_asked_for_and_keeps_its_key_while_the_debt_stands():
    asks = [ASK, AskRow("request", uuid.uuid4(), CUSTOMER, "Harbor Dairy", DAY),
            *(AskRow("work_order", uuid.uuid4(), CUSTOMER, "Harbor Dairy", DAY) for _ in range(3))]
    hint = rules.old_debt(asks, [invoice(1042, 70)], DAY)
    assert hint.reason.endswith("and asked for service twice and has 3 work orders booked or planned.")
    assert hint.request_id is None and hint.work_order_id is None
    assert set(hint.request_ids) == {asks[0].id, asks[1].id} and len(hint.work_order_ids) == 3
    assert hint.key == rules.old_debt([ASK], [invoice(1042, 70)], DAY).key
    assert hint.key != rules.old_debt([ASK], [invoice(1042, 70), invoice(1001, 80)], DAY).key  # an older one


def test_upcoming_hints_rank_first_soonest_first_then_the_newest():
    soon = rules.devices_for_the_visit(VISIT, [due("DC 7", 1)])
    later = rules.devices_for_the_visit(VisitRow(uuid.uuid4(), PLACE, "12 Harbor Way", DAY + dt.timedelta(days=9)),
                                        [due("DC 7", 1)])
    old = rules.replacement(history("fail", "fail"))
    ranked = sorted([old, later, soon], key=lambda hint: hint.rank)
    assert ranked == [soon, later, old]
