"""FlowTrack's floor: what every signed-in page costs before it does any work of its own.

Served by gunicorn like `wsgi.py`, with two routes that exist only here: one answers as soon as the sign-in
checks pass (the session read and checked in the database, the token set for row-level security, the
permission), the other renders the layout with an empty page. No FlowTrack page can serve more requests a
second than these, so they show how much of the bare endpoint's ceiling a signed-in page can reach at all.
"""
import _common  # noqa: F401  (puts this checkout's flowtrack first on the path)
from flask import render_template

from flowtrack import create_app
from flowtrack.core.collector import freeze_startup_objects
from flowtrack.core.permissions import requires

app = create_app()
# Compiled once, as a template file would be.
EMPTY_PAGE = app.jinja_env.from_string('{% extends "base.html" %}{% block title %}Floor{% endblock %}')


@app.get("/floor/signed-in")
@requires("customers.view")
def signed_in():
    return "signed in"


@app.get("/floor/layout")
@requires("customers.view")
def layout():
    return render_template(EMPTY_PAGE)


freeze_startup_objects()
