"""Regions: each company lives in one, and each region is a database, a Redis and a file store of its own
(docs/regions.md). This module builds them and says which one the running code is in.

The running code's region is, in order: one a caller chose for a block (`in_region`: a sign-in once the
directory has named the region, a CLI command walking every region, a worker started with `--region`); in a
request, the region in the signed cookie (`session["region"]`, written at sign-in and sign-up, or taken from a
link's `?region=`); else the home region (the first configured, `us` unless told otherwise).
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from flask import Flask, current_app, has_request_context, request, session
from redis import Redis

from flowtrack.core.config import RegionSettings
from flowtrack.core.db import Database

_chosen: contextvars.ContextVar[str | None] = contextvars.ContextVar("flowtrack_region", default=None)


@dataclass
class Region:
    """One region's stores. The file store is made on first use (an S3 client is not made for nothing)."""

    name: str
    settings: RegionSettings
    db: Database
    redis: Any  # a redis.Redis without decode_responses: values come back as bytes
    storage: Any = field(default=None, repr=False)

    @property
    def home(self) -> bool:
        return self.settings is current_app.extensions["flowtrack.settings"].regions[0]


def init_app(app: Flask, home_db: Database, home_redis: Redis) -> None:
    """Every region's stores, the home region's being the app's own `flowtrack.db` and `flowtrack.redis`."""
    settings = app.extensions["flowtrack.settings"]
    regions: dict[str, Region] = {}
    for index, region in enumerate(settings.regions):
        if index == 0:
            regions[region.name] = Region(region.name, region, home_db, home_redis)
            continue
        db = Database(region.app_database_url, region.service_database_url, vendor_url=region.vendor_database_url,
                      replica_url=region.replica_app_database_url,
                      tenant_app_filter=app.config.get("TENANT_APP_FILTER", True))
        regions[region.name] = Region(region.name, region, db, Redis.from_url(region.redis_url))
    app.extensions["flowtrack.regions"] = regions
    app.before_request(_region_from_link)


def all_regions(app: Flask | None = None) -> list[Region]:
    """Every region, the home region first."""
    return list((app or current_app).extensions["flowtrack.regions"].values())


def region_names(app: Flask | None = None) -> list[str]:
    return [region.name for region in all_regions(app)]


def home_region(app: Flask | None = None) -> Region:
    return all_regions(app)[0]


def region_named(name: str, app: Flask | None = None) -> Region:
    regions = (app or current_app).extensions["flowtrack.regions"]
    if name not in regions:
        raise LookupError(f"no region {name!r}; configured: {', '.join(regions)}")
    return regions[name]


def current_region() -> Region:
    chosen = _chosen.get()
    if chosen is not None:
        return region_named(chosen)
    if has_request_context():
        named = session.get("region")
        regions = current_app.extensions["flowtrack.regions"]
        if named in regions:
            return regions[named]
    return home_region()


@contextmanager
def in_region(name: str) -> Iterator[Region]:
    """Run a block in one region, whatever the request's cookie says."""
    region = region_named(name)
    token = _chosen.set(name)
    try:
        yield region
    finally:
        _chosen.reset(token)


# What people read for a region's code; a region configured beyond these is shown by its code.
REGION_LABELS = {"us": "United States", "ca": "Canada"}


def region_label(name: str) -> str:
    return REGION_LABELS.get(name, name.upper())


def fresh_cookie_session() -> None:
    """A brand-new cookie session (new session id, new CSRF token) that stays in the region the request is in:
    a sign-in in Canada must not land its next request in the home region."""
    region = current_region()
    session.clear()
    if not region.home:
        session["region"] = region.name


def remember_region(name: str) -> None:
    """The browser's requests are in this region from now on (sign-in, sign-up)."""
    region = region_named(name)
    if region.home:
        session.pop("region", None)  # the home region needs no word in the cookie
    else:
        session["region"] = name


def link_parameters() -> dict[str, str]:
    """What a link built now (in an email) adds to its address so that its landing request is in this region,
    whatever region the browser that opens it was in before. Nothing on an installation of one region."""
    if len(current_app.extensions["flowtrack.regions"]) == 1:
        return {}
    return {"region": current_region().name}


def _region_from_link() -> None:
    """A link from an email names its region: the landing request and the browser's next ones are in it."""
    named = request.args.get("region")
    if named and named in current_app.extensions["flowtrack.regions"] and named != session.get("region"):
        remember_region(named)


def dispose_all(app: Flask) -> None:
    """Close the engines of the regions other than the home one (whose engines are the app's own)."""
    for region in all_regions(app)[1:]:
        region.db.dispose()
