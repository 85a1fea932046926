"""Ordering a technician's day (flowtrack/schedule/routing.py): OR-Tools' solve time for days of 5, 10 and 20 stops,
and its day's length against the shortest order found by trying every one (where that can be done: up to 10 stops,
the first stop fixed, 9! = 362,880 orders).

Each day is drawn at random in a square around Eugene, Oregon (25 km a side for 5 stops, 15 for 10, 8 for 20), 15
minutes on site a stop, most jobs open all working day and about a third booked for two hours; the office's order is
the order drawn (a window it misses is opened to the whole day). Prints, per size, the solve time (the solver
searches until its time limit, a tenth of a second per stop: the limit is the budget), the brute force's time, and
the ratio of the proposal's length to the shortest (1.000: as short).

    python bench/route_order.py [--days 5] [--seed 1]
"""
from __future__ import annotations

import argparse
import math
import random
import statistics
import time

import _common  # noqa: F401  (puts the project on the path)

from flowtrack.schedule import routing
from flowtrack.schedule.routing import Stop

HOUR = 3600
TARGET_SECONDS = 3.0  # a person waits for the proposal: at most this, whatever the day


def random_day(chance: random.Random, stops: int) -> list[Stop]:
    """A day in a square that shrinks as the day fills (a technician with 20 stops works a neighbourhood)."""
    side = {5: 25, 10: 15}.get(stops, 8)
    day = []
    for index in range(stops):
        north, east = chance.uniform(0, side), chance.uniform(0, side)
        if chance.random() < 0.35:
            opens = 7 * HOUR + HOUR * chance.randint(0, 7)
            closes = opens + 2 * HOUR
        else:
            opens, closes = 7 * HOUR, 17 * HOUR
        day.append(Stop(str(index), 44.05 + north / 111.2, -123.09 + east / 80.0, opens, closes, 15 * 60))
    return day


def feasible_day(chance: random.Random, stops: int) -> list[Stop]:
    """A day the office's order keeps (each window it misses is widened to the working day), else another."""
    while True:
        day = random_day(chance, stops)
        while routing.late_stops(day):
            late = routing.late_stops(day)[0]
            if (day_of(day, late).opens, day_of(day, late).closes) == (7 * HOUR, 17 * HOUR):
                break  # even open all day it is reached too late: the day is too full
            day = [Stop(s.key, s.latitude, s.longitude, 7 * HOUR, 17 * HOUR, s.on_site) if s.key == late else s
                   for s in day]
        else:
            return day


def day_of(day: list[Stop], key: str) -> Stop:
    return next(stop for stop in day if stop.key == key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=5, help="random days per size")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    chance = random.Random(options.seed)
    print(f"{'stops':>5} {'solve s':>8} {'brute s':>8} {'km now':>7} {'km ortools':>10} {'km best':>8} "
          f"{'ratio':>6} {'solve/target':>12}")
    for size in (5, 10, 20):
        solves, brutes, ratios, now, proposed, best_km = [], [], [], [], [], []
        for _ in range(options.days):
            day = feasible_day(chance, size)
            started = time.perf_counter()
            proposal = routing.propose(day)
            solves.append(time.perf_counter() - started)
            now.append(proposal.current_length_m / 1000)
            proposed.append(proposal.length_m / 1000)
            if math.factorial(size - 1) <= routing.BRUTE_FORCE_ORDERS:
                started = time.perf_counter()
                best = routing.brute_force(day, first_fixed=True)
                brutes.append(time.perf_counter() - started)
                shortest = routing.length_m([day[i] for i in best])
                best_km.append(shortest / 1000)
                ratios.append(proposal.length_m / shortest)
        brute = f"{statistics.mean(brutes):8.2f}" if brutes else f"{'—':>8}"
        ratio = f"{max(ratios):6.3f}" if ratios else f"{'—':>6}"
        best = f"{statistics.mean(best_km):8.1f}" if best_km else f"{'—':>8}"
        print(f"{size:5d} {statistics.mean(solves):8.2f} {brute} {statistics.mean(now):7.1f} "
              f"{statistics.mean(proposed):10.1f} {best} {ratio} {max(solves) / TARGET_SECONDS:12.2f}")


if __name__ == "__main__":
    main()
