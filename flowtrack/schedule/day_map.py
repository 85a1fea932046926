"""The day on a map, for the pages that show it (the technician's day, the office's view of it, a proposed
route): the stops with a position for the map's script (flowtrack/static/day_map.js, Leaflet), those without, and
the tile server when one is configured (`MAP_TILE_URL`; without it the map is drawn on a plain background)."""
from __future__ import annotations

import zoneinfo

from flask import Response, make_response

from flowtrack.core.config import setting
from flowtrack.core.web import with_images_from
from flowtrack.models.scheduling import ScheduledJob
from flowtrack.schedule import services


def context(jobs: list[ScheduledJob], zone: zoneinfo.ZoneInfo) -> dict:
    return {"map_points": services.map_points(jobs, zone),
            "map_unplaced": [(number, job) for number, job in enumerate(jobs, start=1) if not services.placed(job)],
            "map_tiles": setting("MAP_TILE_URL") or "", "map_attribution": setting("MAP_TILE_ATTRIBUTION") or ""}


def shown(page: str | tuple) -> Response:
    """The page, allowed to load the configured tile server's pictures."""
    response = make_response(page)
    tiles = setting("MAP_TILE_URL")
    if tiles:
        response.headers["Content-Security-Policy"] = with_images_from(tiles)
    return response
