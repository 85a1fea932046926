"""FlowTrack: the app factory, the single door in."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from flask import Flask
from redis import Redis

from flowtrack.core import regions
from flowtrack.core.collector import CollectBetweenRequests
from flowtrack.core.config import PROJECT_ROOT, limiter_storage_url, load_settings
from flowtrack.core.db import Database
from flowtrack.core.extensions import compress, csrf, htmx, limiter, login_manager


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment (DATABASE_URL, REDIS_URL, SECRET_KEY), embedded services otherwise."""
    instance_path = Path(os.environ.get("FLOWTRACK_INSTANCE_PATH", PROJECT_ROOT / "instance"))
    settings = load_settings(instance_path, config)
    app = Flask(__name__, instance_path=str(instance_path))
    app.config.update(
        ENV_NAME=settings.env,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="__Host-flowtrack" if settings.production else "flowtrack_session",
        SESSION_COOKIE_SECURE=settings.production,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_lifetime_hours),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the login session
        RATELIMIT_STORAGE_URI=limiter_storage_url(settings.redis_url),
        RATELIMIT_KEY_PREFIX="flowtrack",
        RATELIMIT_STRATEGY="moving-window",
        # With Redis down the health check must still answer (503), not fail on the limiter; the sign-in limits are
        # kept in each web process's memory meanwhile, so they hold (per process) rather than lapse.
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        MAX_CONTENT_LENGTH=25 * 1024 * 1024,
        QUEUE_NAME=os.environ.get("FLOWTRACK_QUEUE_NAME", "flowtrack"),
        # Flask-Compress serves only the static files (flowtrack/core/web.py says why), so it is not registered for all.
        COMPRESS_REGISTER=False,
        COMPRESS_MIMETYPES=["text/css", "text/javascript", "application/javascript", "image/svg+xml"],
    )
    app.config.update(settings.extra)
    app.extensions["flowtrack.settings"] = settings
    app.extensions["flowtrack.db"] = Database(
        settings.app_database_url, settings.service_database_url, vendor_url=settings.vendor_database_url,
        replica_url=settings.replica_app_database_url,
        tenant_app_filter=app.config.get("TENANT_APP_FILTER", True),
    )
    app.extensions["flowtrack.redis"] = Redis.from_url(settings.redis_url)
    # Before the request plumbing: a link's region must be known before the request opens its database session.
    regions.init_app(app, app.extensions["flowtrack.db"], app.extensions["flowtrack.redis"])

    csrf.init_app(app)
    htmx.init_app(app)
    compress.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    from flowtrack.auth import request_user
    from flowtrack.core import templating, web
    from flowtrack.lifecycle import guard

    web.init_app(app)
    templating.init_app(app)
    request_user.init_app(app)
    guard.init_app(app)

    from flowtrack.account.routes import bp as account_bp
    from flowtrack.audit_log.routes import bp as audit_bp
    from flowtrack.auth.routes import bp as auth_bp
    from flowtrack.billing.routes import bp as billing_bp
    from flowtrack.booking.routes import bp as booking_bp
    from flowtrack.booking.routes import customer_bp as customer_booking_bp
    from flowtrack.customers.routes import bp as customers_bp
    from flowtrack.dashboard.routes import bp as dashboard_bp
    from flowtrack.devices.gauge_routes import bp as gauges_bp
    from flowtrack.devices.routes import bp as devices_bp
    from flowtrack.district_portal.routes import bp as district_portal_bp
    from flowtrack.districts.routes import bp as districts_bp
    from flowtrack.due.routes import bp as due_bp
    from flowtrack.exports.routes import bp as exports_bp
    from flowtrack.field_tests.offline import bp as offline_bp
    from flowtrack.field_tests.routes import bp as field_tests_bp
    from flowtrack.field_tests.voice_routes import bp as voice_notes_bp
    from flowtrack.hints.routes import bp as hints_bp
    from flowtrack.home.routes import bp as home_bp
    from flowtrack.imports.routes import bp as imports_bp
    from flowtrack.inventory.routes import bp as inventory_bp
    from flowtrack.invoices.routes import bp as invoices_bp
    from flowtrack.notifications.routes import bp as notifications_bp
    from flowtrack.photos.routes import bp as photos_bp
    from flowtrack.portal.card_routes import bp as card_bp
    from flowtrack.portal.routes import bp as portal_bp
    from flowtrack.quotes.routes import bp as quotes_bp
    from flowtrack.quotes.routes import customer_bp as customer_quotes_bp
    from flowtrack.reminders.routes import bp as reminders_bp
    from flowtrack.schedule.day_routes import bp as day_bp
    from flowtrack.schedule.routes import bp as schedule_bp
    from flowtrack.service_requests.routes import bp as service_requests_bp
    from flowtrack.settings.routes import bp as settings_bp
    from flowtrack.signup.routes import bp as signup_bp
    from flowtrack.submissions.routes import bp as submissions_bp
    from flowtrack.team.routes import bp as team_bp
    from flowtrack.trust.routes import bp as trust_bp
    from flowtrack.vendors.routes import bp as vendors_bp
    from flowtrack.work_orders.routes import bp as work_orders_bp

    for blueprint in (home_bp, auth_bp, dashboard_bp, audit_bp, exports_bp, billing_bp, trust_bp, team_bp, account_bp,
                      signup_bp, settings_bp, customers_bp, devices_bp, gauges_bp, districts_bp, due_bp, imports_bp,
                      field_tests_bp, work_orders_bp, schedule_bp, day_bp, reminders_bp, invoices_bp, portal_bp,
                      photos_bp, district_portal_bp, offline_bp, notifications_bp, service_requests_bp,
                      vendors_bp, inventory_bp, quotes_bp, customer_quotes_bp, card_bp, booking_bp,
                      customer_booking_bp, submissions_bp, voice_notes_bp, hints_bp):
        app.register_blueprint(blueprint)
    app.wsgi_app = CollectBetweenRequests(app.wsgi_app)
    return app
