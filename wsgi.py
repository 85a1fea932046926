"""Web entry point for gunicorn: `gunicorn wsgi:app`."""
from flowtrack import create_app

app = create_app()
