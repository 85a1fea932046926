"""Web entry point for gunicorn: `gunicorn wsgi:app`."""
from flowtrack import create_app
from flowtrack.core.collector import freeze_startup_objects

app = create_app()
freeze_startup_objects()
