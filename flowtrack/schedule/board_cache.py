"""The week board as rendered HTML, kept in Redis and used again until something it shows changes.

A large company's week holds hundreds of cards, about 30 ms of work to read and render, and the office
opens the board far more often than it changes. Database triggers move a counter per company whenever a
job, work order, card's name or address, technician or the time zone changes, whoever writes it (migration
0021). The counter is part of the cache key, so a change is never served stale: the next look builds the
board anew (flowtrack/core/cache.py). The day is part of the key too (past days, certifications that lapse). The
week looks the same to everyone who may see the board (office and admins), and nothing in it depends on who
is looking.

The counter is read before the board: a change committed in between makes a newer board under the older
counter, never an older board under the newer one.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import render_template
from markupsafe import Markup

from flowtrack.companies.services import company_timezone
from flowtrack.core.cache import kept
from flowtrack.models.scheduling import ScheduleVersion
from flowtrack.schedule import services


def rendered_week(session: so.Session, monday: dt.date, today: dt.date) -> Markup:
    """The week's board (navigation, technicians by days, the tray) as HTML, from the cache when it is current."""
    version = session.scalar(sa.select(ScheduleVersion.version)) or 0
    key = (f"flowtrack:board:{session.info['company_id']}:{company_timezone(session).key}:{monday.isoformat()}:"
           f"{today.isoformat()}:{version}")
    html = kept(key, lambda: render_template("schedule/_week.html", board=services.week_board(session, monday, today)))
    return Markup(html)
