"""Evidence of the visit, for a test sent from the phone's outbox: when each step was taken by the phone's clock,
how far that clock was from the server's, where the phone was (when the technician allowed it), and what the office
should look at. A flag never refuses a test: a vault can be far from the street address geocoded for it, and a
technician may type readings written on paper. It asks the office (and the district) to look.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Mapping

STEPS = ("opened", "first_reading", "last_reading", "signed", "submitted")
# A test with gauge readings takes minutes at the assembly; from opening the form to submitting it in less than
# this is flagged as typed, not measured.
FAST_SECONDS = 60
# A position at least this good (radius in metres) may place a location that has no coordinates yet.
PLACING_ACCURACY_M = 100.0
# The oldest test the outbox may still bring: a phone left in a van for a month is a question for the office.
OLDEST = dt.timedelta(days=30)
EARTH_RADIUS_M = 6_371_000


class EvidenceRefused(ValueError):
    """What the phone sent about the visit cannot be believed as it stands; the message says what."""


@dataclass(frozen=True)
class Position:
    latitude: float
    longitude: float
    accuracy_m: float


@dataclass(frozen=True)
class PhoneEvidence:
    received_at: dt.datetime
    sent_at: dt.datetime  # by the phone's clock, when it sent this record
    steps: dict[str, dt.datetime] = field(default_factory=dict)  # by the phone's clock
    position: Position | None = None

    @property
    def skew(self) -> dt.timedelta:
        """How far ahead the server's clock was of the phone's (the network's delay included, a second or two)."""
        return self.received_at - self.sent_at

    @property
    def tested_at(self) -> dt.datetime:
        """When the test was submitted on the phone, on the server's clock."""
        return self.steps.get("submitted", self.sent_at) + self.skew

    def seconds_to_submit(self) -> float | None:
        if "opened" not in self.steps or "submitted" not in self.steps:
            return None
        return (self.steps["submitted"] - self.steps["opened"]).total_seconds()


def from_phone(form: Mapping[str, str], received_at: dt.datetime) -> PhoneEvidence:
    """Read what the outbox sends beside the test's fields: `phone_sent_at` (ISO time), `phone_steps` (JSON:
    step -> ISO time) and, when allowed, `phone_position` (JSON: latitude, longitude, accuracy in metres)."""
    sent_at = _moment(form.get("phone_sent_at"), "the time it was sent")
    try:
        raw_steps = json.loads(form.get("phone_steps") or "{}")
        raw_position = json.loads(form["phone_position"]) if form.get("phone_position") else None
    except ValueError:
        raise EvidenceRefused("The phone's record of the visit is not readable.") from None
    if not isinstance(raw_steps, dict):
        raise EvidenceRefused("The phone's record of the visit is not readable.")
    steps = {name: _moment(value, name.replace("_", " ")) for name, value in raw_steps.items() if name in STEPS}
    evidence = PhoneEvidence(received_at=received_at, sent_at=sent_at, steps=steps,
                             position=_position(raw_position) if raw_position is not None else None)
    if evidence.tested_at > received_at + dt.timedelta(minutes=1):
        raise EvidenceRefused("The phone says the test was submitted after it was sent; check the phone's clock.")
    if evidence.tested_at < received_at - OLDEST:
        raise EvidenceRefused("This test was recorded over 30 days ago; ask the office to enter it.")
    return evidence


def distance_m(a_latitude: float, a_longitude: float, b_latitude: float, b_longitude: float) -> float:
    """The great-circle distance in metres (haversine)."""
    phi1, phi2 = math.radians(a_latitude), math.radians(b_latitude)
    d_phi, d_lambda = phi2 - phi1, math.radians(b_longitude - a_longitude)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def flags(evidence: PhoneEvidence, location_coordinates: tuple[float, float] | None, far_m: int,
          has_gauge_readings: bool) -> list[dict]:
    """What the office should look at: recorded far from the location, or readings entered impossibly fast."""
    found = []
    if evidence.position is not None and location_coordinates is not None:
        meters = distance_m(evidence.position.latitude, evidence.position.longitude, *location_coordinates)
        # The phone's own uncertainty is given the benefit of the doubt.
        if meters - evidence.position.accuracy_m > far_m:
            found.append({"kind": "far", "meters": round(meters)})
    seconds = evidence.seconds_to_submit()
    if has_gauge_readings and seconds is not None and seconds < FAST_SECONDS:
        found.append({"kind": "fast", "seconds": round(seconds)})
    return found


def describe(flag: dict) -> str:
    """A flag in the office's words."""
    if flag["kind"] == "far":
        meters = flag["meters"]
        where = f"{meters / 1000:.1f} km" if meters >= 1000 else f"{meters} m"
        return f"Recorded {where} from the location"
    return f"Form filled in {flag['seconds']} seconds, from opening it to submitting"


def can_place_location(evidence: PhoneEvidence) -> bool:
    return evidence.position is not None and evidence.position.accuracy_m <= PLACING_ACCURACY_M


def _moment(raw: object, what: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise EvidenceRefused(f"The phone's record of {what} is not a time.") from None
    if moment.tzinfo is None:
        raise EvidenceRefused(f"The phone's record of {what} has no time zone.")
    return moment.astimezone(dt.timezone.utc)


def _position(raw: object) -> Position:
    try:
        position = Position(float(raw["latitude"]), float(raw["longitude"]), float(raw["accuracy"]))  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        raise EvidenceRefused("The phone's position is not readable.") from None
    if not (-90 <= position.latitude <= 90 and -180 <= position.longitude <= 180 and 0 <= position.accuracy_m
            and all(math.isfinite(v) for v in (position.latitude, position.longitude, position.accuracy_m))):
        raise EvidenceRefused("The phone's position is not on Earth.")
    return position
