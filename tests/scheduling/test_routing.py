"""The order that shortens a day's driving: OR-Tools' proposal against every order tried by brute force on small days,
never longer than the office's order, and every job begun inside its booked window."""
import random

import pytest

from flowtrack.schedule import routing
from flowtrack.schedule.routing import Stop, brute_force, late_stops, length_m, propose

HOUR = 3600
DAY_OPENS, DAY_ENDS = 7 * HOUR, 17 * HOUR


def place(key, east_km, north_km=0.0, opens=DAY_OPENS, closes=DAY_ENDS, on_site=20 * 60):
    """A stop so many km east and north of a corner of Eugene, Oregon."""
    return Stop(key, 44.05 + north_km / 111.2, -123.09 + east_km / 80.0, opens, closes, on_site)


def random_day(seed: int, stops: int) -> list[Stop]:
    """A day in a 25 km square: most jobs any time of the working day, some booked for two hours."""
    chance = random.Random(seed)
    day = []
    for index in range(stops):
        if chance.random() < 0.35:
            opens = DAY_OPENS + HOUR * chance.randint(0, 7)
            day.append(place(str(index), chance.uniform(0, 25), chance.uniform(0, 25), opens, opens + 2 * HOUR))
        else:
            day.append(place(str(index), chance.uniform(0, 25), chance.uniform(0, 25)))
    return day


def test_the_straight_line_distance_is_the_great_circle_one():
    north = place("a", 0, 0), place("b", 0, 111.2)
    assert routing.distance_m(*north) == pytest.approx(111_200, rel=0.005)
    assert routing.driving_seconds(40_000) == HOUR  # 40 km/h


@pytest.mark.parametrize("seed, stops", [(seed, 3 + seed % 5) for seed in range(12)])
def test_the_proposal_is_as_short_as_the_best_of_every_order_and_keeps_every_window(seed, stops):
    day = random_day(seed, stops)
    keeps = not late_stops(day)
    best = brute_force(day, first_fixed=keeps)
    proposal = propose(day)
    if best is None:
        assert proposal is None
        return
    by_key = {stop.key: stop for stop in day}
    proposed = [by_key[key] for key in proposal.order]
    assert sorted(proposal.order) == sorted(by_key)
    assert proposal.length_m == pytest.approx(length_m([day[i] for i in best]), abs=0.5 * stops)
    assert late_stops(proposed) == []
    if keeps:
        assert proposal.order[0] == day[0].key  # the day starts where the office's does
        assert proposal.length_m <= proposal.current_length_m + 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_a_proposal_is_never_longer_than_the_offices_order_when_that_keeps_the_windows(seed):
    day = random_day(100 + seed, 7)
    if late_stops(day):
        day = [Stop(s.key, s.latitude, s.longitude, DAY_OPENS, DAY_ENDS, s.on_site) for s in day]
    proposal = propose(day)
    assert proposal.length_m <= length_m(day) + 1e-6 and proposal.saved_m >= 0


def test_a_line_of_stops_is_driven_end_to_end():
    office = [place("A", 0), place("C", 6), place("B", 3), place("D", 9)]
    proposal = propose(office)
    assert proposal.order == ["A", "B", "C", "D"]
    assert proposal.current_length_m == pytest.approx(15_000, rel=0.01)
    assert proposal.saved_m == pytest.approx(6_000, rel=0.01) and proposal.changed


def test_a_job_booked_for_a_fixed_time_keeps_a_place_where_it_is_reached_in_time():
    # B is at 9 km but booked 7:00 to 8:00: the shortest order (A, C, B) would reach it after 8:00, so it comes first
    # after the start even though that drives back and forth.
    office = [place("A", 0, opens=DAY_OPENS, closes=DAY_OPENS + HOUR), place("C", 3),
              place("B", 9, opens=DAY_OPENS, closes=DAY_OPENS + HOUR)]
    assert late_stops(office) == ["B"]
    proposal = propose(office)
    assert late_stops([{s.key: s for s in office}[k] for k in proposal.order]) == []
    assert proposal.order.index("B") < proposal.order.index("C")
    assert proposal.current_late == ["B"]


def test_a_day_no_order_can_keep_is_not_ordered():
    two_places_at_once = [place("A", 0, opens=DAY_OPENS, closes=DAY_OPENS + 20 * 60),
                          place("B", 20, opens=DAY_OPENS, closes=DAY_OPENS + 20 * 60)]
    assert propose(two_places_at_once) is None and brute_force(two_places_at_once, first_fixed=False) is None


def test_a_job_takes_twenty_minutes_an_assembly_within_its_window():
    assert routing.on_site_seconds(0, 8 * HOUR) == 20 * 60
    assert routing.on_site_seconds(3, 8 * HOUR) == HOUR
    assert routing.on_site_seconds(12, 2 * HOUR) == 2 * HOUR
