"""Settings from the environment, with embedded defaults for development and tests.

`DATABASE_URL` is an administrative URL: the migrations use it to create the
three roles and the schema. The web app and tenant jobs never use it; they
connect as `flowtrack_app` (no BYPASSRLS, owns nothing), and the few
cross-tenant paths connect as `flowtrack_service`. In production give
`APP_DATABASE_URL` and `SERVICE_DATABASE_URL` with their own passwords; when
unset they are derived from `DATABASE_URL` by swapping the user name, which
suits trust-authenticated local servers.

`DATABASE_REPLICA_URL` names a streaming replica of that database, for heavy
reads (docs/operations.md, "A read replica"); they run as the app role there,
derived the same way, or given whole as `APP_DATABASE_REPLICA_URL`. Roles and
passwords are the primary's: a physical replica is a copy of the whole cluster.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app, has_app_context
from sqlalchemy.engine import make_url

ROLE_OWNER = os.environ.get("FLOWTRACK_DB_OWNER_ROLE", "flowtrack_owner")
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")
# Vendors' people connect as this role, which holds the app role's rights and is confined by the vendor policies
# (docs/tenancy.md, "Vendor isolation").
ROLE_VENDOR = os.environ.get("FLOWTRACK_DB_VENDOR_ROLE", "flowtrack_vendor")

PROJECT_ROOT = Path(__file__).resolve().parents[2]

WEAK_SECRET_KEYS = {"", "dev", "change-me", "secret", "flowtrack"}


def setting(name: str, default: str | None = None) -> str | None:
    """An integration setting (Stripe, SMTP, SMS): the app's config first (tests, wsgi), then the environment
    (the worker reads only the environment); empty counts as unset."""
    if has_app_context() and current_app.config.get(name) not in (None, ""):
        return str(current_app.config[name])
    return os.environ.get(name) or default


def sqlalchemy_url(url: str, *, username: str | None = None, password: str | None = None) -> str:
    """The URL with the psycopg 3 driver, optionally as another user."""
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    if username is not None:
        parsed = parsed.set(username=username, password=password)
    return parsed.render_as_string(hide_password=False)


def limiter_storage_url(redis_url: str) -> str:
    """Flask-Limiter names a Redis unix socket `redis+unix://`."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


@dataclass
class Settings:
    env: str
    secret_key: str
    database_url: str
    app_database_url: str
    service_database_url: str
    vendor_database_url: str
    redis_url: str
    instance_path: Path
    # The app role on a streaming replica, for heavy reads; None: they read the primary.
    replica_app_database_url: str | None = None
    idle_timeout_minutes: int = 30
    session_lifetime_hours: int = 12
    # How many proxies in front of the app set X-Forwarded-For and X-Forwarded-Proto (0: trust none).
    proxy_fix: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"


def _dev_secret_key(instance_path: Path) -> str:
    """A random key kept in the instance folder, so dev logins survive a restart."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def load_settings(instance_path: Path, overrides: dict | None = None) -> Settings:
    """Read settings from the environment (and test overrides), starting embedded services if needed."""
    overrides = dict(overrides or {})
    env = overrides.pop("ENV", None) or os.environ.get("FLOWTRACK_ENV", "development")
    secret_key = overrides.pop("SECRET_KEY", None) or os.environ.get("SECRET_KEY", "")
    if env == "production":
        if secret_key in WEAK_SECRET_KEYS or len(secret_key) < 32:
            raise RuntimeError("SECRET_KEY must be set to a random string of at least 32 characters in production")
    elif not secret_key:
        secret_key = _dev_secret_key(instance_path)

    database_url = overrides.pop("DATABASE_URL", None) or os.environ.get("DATABASE_URL")
    redis_url = overrides.pop("REDIS_URL", None) or os.environ.get("REDIS_URL")
    if not database_url or not redis_url:
        if env == "production":
            raise RuntimeError("DATABASE_URL and REDIS_URL are required in production")
        from flowtrack.core import embedded

        database_url = database_url or embedded.postgres_url(instance_path)
        redis_url = redis_url or embedded.redis_url(instance_path)

    proxy_fix = int(overrides.pop("PROXY_FIX", os.environ.get("FLOWTRACK_PROXY_FIX", 0)))
    if proxy_fix < 0:
        raise RuntimeError("FLOWTRACK_PROXY_FIX is the number of trusted proxies: 0 or more")

    app_url = overrides.pop("APP_DATABASE_URL", None) or os.environ.get("APP_DATABASE_URL")
    service_url = overrides.pop("SERVICE_DATABASE_URL", None) or os.environ.get("SERVICE_DATABASE_URL")
    vendor_url = overrides.pop("VENDOR_DATABASE_URL", None) or os.environ.get("VENDOR_DATABASE_URL")
    replica_url = overrides.pop("DATABASE_REPLICA_URL", None) or os.environ.get("DATABASE_REPLICA_URL")
    replica_app_url = overrides.pop("APP_DATABASE_REPLICA_URL", None) or os.environ.get("APP_DATABASE_REPLICA_URL")
    if replica_url and not replica_app_url:
        replica_app_url = sqlalchemy_url(replica_url, username=ROLE_APP,
                                         password=os.environ.get("FLOWTRACK_APP_DB_PASSWORD"))
    return Settings(
        env=env,
        secret_key=secret_key,
        database_url=sqlalchemy_url(database_url),
        app_database_url=sqlalchemy_url(app_url) if app_url else sqlalchemy_url(
            database_url, username=ROLE_APP, password=os.environ.get("FLOWTRACK_APP_DB_PASSWORD")),
        service_database_url=sqlalchemy_url(service_url) if service_url else sqlalchemy_url(
            database_url, username=ROLE_SERVICE, password=os.environ.get("FLOWTRACK_SERVICE_DB_PASSWORD")),
        vendor_database_url=sqlalchemy_url(vendor_url) if vendor_url else sqlalchemy_url(
            database_url, username=ROLE_VENDOR, password=os.environ.get("FLOWTRACK_VENDOR_DB_PASSWORD")),
        redis_url=redis_url,
        instance_path=instance_path,
        replica_app_database_url=sqlalchemy_url(replica_app_url) if replica_app_url else None,
        idle_timeout_minutes=int(overrides.pop("IDLE_TIMEOUT_MINUTES",
                                               os.environ.get("FLOWTRACK_IDLE_TIMEOUT_MINUTES", 30))),
        session_lifetime_hours=int(overrides.pop("SESSION_LIFETIME_HOURS",
                                                 os.environ.get("FLOWTRACK_SESSION_LIFETIME_HOURS", 12))),
        proxy_fix=proxy_fix,
        extra=overrides,
    )
