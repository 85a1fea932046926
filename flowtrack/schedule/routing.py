"""The order of a technician's day that shortens the driving: OR-Tools' routing solver on straight-line (haversine)
distances, keeping each job inside its booked window.

The day starts at its first stop in the office's order (the company's address has no position to start from; when
that order misses a window, at whichever stop is best) and ends at whichever stop comes last. Each job is begun
inside its window and done within it: begun no earlier than the window opens and no later than its time on site
before the window closes. Between stops the technician drives at `SPEED_KMH` in a straight line; a technician early
at a stop waits for its window. Pure functions, no database.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

EARTH_RADIUS_M = 6_371_008.8
SPEED_KMH = 40            # driving between stops, on the straight line (roads are longer, traffic slower)
ON_SITE_PER_DEVICE_S = 20 * 60   # the time a job takes: 20 minutes per assembly, within its window
BRUTE_FORCE_ORDERS = 400_000  # trying more orders than this by brute force takes too long (9! = 362,880: seconds)


@dataclass(frozen=True)
class Stop:
    """A job with a position; times in seconds from the start of its day."""
    key: str
    latitude: float
    longitude: float
    opens: int      # the window's start: the job is not begun before
    closes: int     # the window's end: the job is done by then
    on_site: int    # seconds the job takes

    @property
    def latest_start(self) -> int:
        return max(self.opens, self.closes - self.on_site)


def on_site_seconds(devices: int, window_seconds: int) -> int:
    """How long a job takes: 20 minutes per assembly (a visit with none, 20 minutes), at most its whole window."""
    return min(max(devices, 1) * ON_SITE_PER_DEVICE_S, window_seconds)


def distance_m(a: Stop, b: Stop) -> float:
    """The great-circle distance between two stops, in metres."""
    phi1, phi2 = math.radians(a.latitude), math.radians(b.latitude)
    d_phi, d_lambda = phi2 - phi1, math.radians(b.longitude - a.longitude)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def driving_seconds(metres: float) -> int:
    return math.ceil(metres / (SPEED_KMH * 1000 / 3600))


def length_m(stops: Sequence[Stop]) -> float:
    """The straight-line length of a day driven in this order."""
    return sum(distance_m(a, b) for a, b in itertools.pairwise(stops))


def _drive(a: Stop, b: Stop) -> int:
    return driving_seconds(round(distance_m(a, b)))


def late_stops(stops: Sequence[Stop]) -> list[str]:
    """The stops this order reaches too late to begin inside their window (waiting when early), by key."""
    late: list[str] = []
    clock, previous = 0, None
    for stop in stops:
        arrival = stop.opens if previous is None else clock + previous.on_site + _drive(previous, stop)
        clock = max(arrival, stop.opens)
        if clock > stop.latest_start:
            late.append(stop.key)
        previous = stop
    return late


@dataclass(frozen=True)
class Proposal:
    order: list[str]            # the stops' keys, the first one first
    length_m: float
    current_length_m: float
    current_late: list[str]     # the stops the office's order reaches too late

    @property
    def saved_m(self) -> float:
        return self.current_length_m - self.length_m

    @property
    def changed(self) -> bool:
        return self.saved_m > 0.5


def _seconds_limit(stops: int) -> float:
    """Guided local search improves until stopped: a tenth of a second per stop, from half a second to three."""
    return min(3.0, max(0.5, 0.1 * stops))


def propose(stops: Sequence[Stop]) -> Proposal | None:
    """The shortest order found that begins each job inside its window; None when no order does.

    When the office's order (`stops`) keeps the windows, the day starts where it does (at its first stop) and the
    search starts from that order, so what comes back is never longer. When it does not, the first stop may be the
    cause, and the day may start at any stop."""
    current_late = late_stops(stops)
    current = length_m(stops)
    keeps = not current_late
    if len(stops) < 2 or (keeps and len(stops) < 3):  # nothing to choose
        return Proposal([s.key for s in stops], current, current, current_late) if keeps else None
    order = _solve(stops, first_fixed=keeps)
    if order is None:
        return None
    proposed = [stops[i] for i in order]
    if keeps and length_m(proposed) >= current:
        proposed = list(stops)  # as short as the office's order (the solver counts whole metres): keep it
    return Proposal([s.key for s in proposed], length_m(proposed), current, current_late)


def _solve(stops: Sequence[Stop], *, first_fixed: bool) -> list[int] | None:
    """Stops 0..n-1; n: where the day starts, n+1: where it ends, both nowhere (arcs to and from them cost no
    distance and no time), so the day is a path, not a round trip."""
    count = len(stops)
    start, end = count, count + 1
    manager = pywrapcp.RoutingIndexManager(count + 2, 1, [start], [end])
    routing = pywrapcp.RoutingModel(manager)
    metres = [[round(distance_m(a, b)) for b in stops] for a in stops]

    def distance(from_index: int, to_index: int) -> int:
        a, b = manager.IndexToNode(from_index), manager.IndexToNode(to_index)
        return 0 if a >= count or b >= count else metres[a][b]

    def travel(from_index: int, to_index: int) -> int:
        a, b = manager.IndexToNode(from_index), manager.IndexToNode(to_index)
        if a >= count:
            return 0
        return stops[a].on_site + (0 if b >= count else driving_seconds(metres[a][b]))

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance))
    horizon = max(s.closes for s in stops) + max(s.on_site for s in stops) + 1
    routing.AddDimension(routing.RegisterTransitCallback(travel), horizon, horizon, False, "Time")
    time = routing.GetDimensionOrDie("Time")
    for node, stop in enumerate(stops):
        time.CumulVar(manager.NodeToIndex(node)).SetRange(stop.opens, stop.latest_start)
    if first_fixed:
        routing.solver().Add(routing.NextVar(routing.Start(0)) == manager.NodeToIndex(0))
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    parameters.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    parameters.time_limit.FromMilliseconds(int(_seconds_limit(count) * 1000))
    solution = None
    if first_fixed:  # the office's order keeps the windows: search from it, so nothing longer comes back
        routing.CloseModelWithParameters(parameters)
        initial = routing.ReadAssignmentFromRoutes([list(range(count))], True)
        if initial is not None:
            solution = routing.SolveFromAssignmentWithParameters(initial, parameters)
    if solution is None:
        solution = routing.SolveWithParameters(parameters)
    if solution is None:
        return None
    order, index = [], solution.Value(routing.NextVar(routing.Start(0)))
    while not routing.IsEnd(index):
        order.append(manager.IndexToNode(index))
        index = solution.Value(routing.NextVar(index))
    return order


def brute_force(stops: Sequence[Stop], *, first_fixed: bool) -> list[int] | None:
    """The shortest order keeping every window, by trying them all (with `first_fixed`, those starting at the first
    stop): what `propose` is tested and measured against on small days."""
    count = len(stops)
    if math.factorial(count - 1 if first_fixed else count) > BRUTE_FORCE_ORDERS:
        raise ValueError(f"{count} stops have too many orders to try them all")
    metres = [[distance_m(a, b) for b in stops] for a in stops]
    drive = [[driving_seconds(round(m)) for m in row] for row in metres]
    best, best_length = None, math.inf
    orders = ((0, *rest) for rest in itertools.permutations(range(1, count))) if first_fixed \
        else itertools.permutations(range(count))
    for order in orders:
        total, clock, previous = 0.0, 0, None
        for index in order:
            stop = stops[index]
            if previous is not None:
                total += metres[previous][index]
                clock = max(clock + stops[previous].on_site + drive[previous][index], stop.opens)
            else:
                clock = stop.opens
            if clock > stop.latest_start or total >= best_length:
                break
            previous = index
        else:
            best, best_length = list(order), total
    return best
