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
import re
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
class RegionSettings:
    """Where one region keeps its data: its database (with the three roles' URLs), its Redis and its file store
    (None: a folder under the instance path). docs/regions.md."""

    name: str
    database_url: str
    app_database_url: str
    service_database_url: str
    vendor_database_url: str
    redis_url: str
    file_storage_url: str | None = None
    # Where the region's bucket answers, when not at the home region's S3_ENDPOINT_URL (another provider's
    # per-region endpoint), and the region its requests are signed for (S3_REGION; else boto3's own default).
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # The app role on the region's streaming replica, for heavy reads; None: they read the primary.
    replica_app_database_url: str | None = None


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
    # Every region, the home region (the plain URLs above) first.
    regions: list[RegionSettings] = field(default_factory=list)

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

    names = _region_names(overrides)
    home = _region(names[0], "", database_url, redis_url, overrides)
    regions = [home]
    for name in names[1:]:
        prefix = name.upper() + "_"
        other_database = overrides.pop(prefix + "DATABASE_URL", None) or os.environ.get(prefix + "DATABASE_URL")
        other_redis = overrides.pop(prefix + "REDIS_URL", None) or os.environ.get(prefix + "REDIS_URL")
        if not other_database or not other_redis:
            raise RuntimeError(f"region {name}: {prefix}DATABASE_URL and {prefix}REDIS_URL are required")
        regions.append(_region(name, prefix, other_database, other_redis, overrides))
    return Settings(
        env=env,
        secret_key=secret_key,
        database_url=home.database_url,
        app_database_url=home.app_database_url,
        service_database_url=home.service_database_url,
        vendor_database_url=home.vendor_database_url,
        redis_url=redis_url,
        regions=regions,
        instance_path=instance_path,
        replica_app_database_url=home.replica_app_database_url,
        idle_timeout_minutes=int(overrides.pop("IDLE_TIMEOUT_MINUTES",
                                               os.environ.get("FLOWTRACK_IDLE_TIMEOUT_MINUTES", 30))),
        session_lifetime_hours=int(overrides.pop("SESSION_LIFETIME_HOURS",
                                                 os.environ.get("FLOWTRACK_SESSION_LIFETIME_HOURS", 12))),
        proxy_fix=proxy_fix,
        extra=overrides,
    )


HOME_REGION = "us"
_REGION_NAME = re.compile(r"[a-z]{2,8}")


def _region_names(overrides: dict) -> list[str]:
    """FLOWTRACK_REGIONS, the home region first: `us` when unset, so a deployment that predates regions is one."""
    text = overrides.pop("REGIONS", None) or os.environ.get("FLOWTRACK_REGIONS") or HOME_REGION
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or len(set(names)) != len(names) or not all(_REGION_NAME.fullmatch(name) for name in names):
        raise RuntimeError("FLOWTRACK_REGIONS is a list of distinct region codes (lower-case letters), e.g. us,ca")
    return names


def _region(name: str, prefix: str, database_url: str, redis_url: str, overrides: dict) -> RegionSettings:
    """A region's settings: the home region's are the plain names (prefix ""), another's carry its code in front
    (CA_DATABASE_URL); the roles' URLs are derived from the database's when not given."""

    def given(key: str) -> str | None:
        return overrides.pop(prefix + key, None) or os.environ.get(prefix + key)

    def role_url(key: str, role: str, password_variable: str) -> str:
        url = given(key)
        return sqlalchemy_url(url) if url else sqlalchemy_url(database_url, username=role,
                                                             password=os.environ.get(password_variable))

    # The app role on the replica: given whole, or derived from the replica's URL as on the primary.
    replica_app_url, replica_url = given("APP_DATABASE_REPLICA_URL"), given("DATABASE_REPLICA_URL")
    if replica_url and not replica_app_url:
        replica_app_url = sqlalchemy_url(replica_url, username=ROLE_APP,
                                         password=os.environ.get("FLOWTRACK_APP_DB_PASSWORD"))
    # The roles' passwords are the same in every region: `flowtrack db upgrade` sets them from one environment.
    return RegionSettings(
        name=name,
        database_url=sqlalchemy_url(database_url),
        app_database_url=role_url("APP_DATABASE_URL", ROLE_APP, "FLOWTRACK_APP_DB_PASSWORD"),
        service_database_url=role_url("SERVICE_DATABASE_URL", ROLE_SERVICE, "FLOWTRACK_SERVICE_DB_PASSWORD"),
        vendor_database_url=role_url("VENDOR_DATABASE_URL", ROLE_VENDOR, "FLOWTRACK_VENDOR_DB_PASSWORD"),
        redis_url=redis_url,
        # The home region's store is FILE_STORAGE_URL, read where it always was (core/storage.py).
        file_storage_url=given("FILE_STORAGE_URL") if prefix else None,
        s3_endpoint_url=given("S3_ENDPOINT_URL") or setting("S3_ENDPOINT_URL"),
        s3_region=given("S3_REGION") or setting("S3_REGION"),
        replica_app_database_url=sqlalchemy_url(replica_app_url) if replica_app_url else None,
    )
