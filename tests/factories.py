"""Factories for companies and people, and a test browser that knows about CSRF and HTMX."""
from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from flowtrack.auth.services import SessionPolicy, add_member, new_session
from flowtrack.companies.services import create_company
from flowtrack.core.permissions import Role
from flowtrack.models.accounts import Profile
from flowtrack.models.companies import Company
from tests.run_log import remember_secret

PASSWORD = remember_secret("correct horse battery staple")


def file_store(app):
    """The app's file store, as its requests and jobs see it (instance/files/, or the bucket in FILE_STORAGE_URL)."""
    from flowtrack.core.storage import storage_at

    with app.app_context():
        return storage_at(app.extensions["flowtrack.settings"].instance_path)
ROLES = [role.value for role in Role]
PEOPLE = len(ROLES)  # a tenant has one member of each role


def sent_meanwhile(app, send, seconds: float = 30.0) -> tuple[threading.Thread, list]:
    """Send a request while the caller's transaction (the same change made a moment earlier) is still open: returns
    once the request waits on a lock that transaction holds. Commit it, join the thread: the answer is in the list."""
    answers: list = []
    thread = threading.Thread(target=lambda: answers.append(send()))
    thread.start()
    deadline = time.monotonic() + seconds
    with app.extensions["flowtrack.db"].service() as watcher:
        while not watcher.scalar(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
            assert time.monotonic() < deadline and thread.is_alive(), "the request never waited for the first one"
            time.sleep(0.02)
            watcher.rollback()
    return thread, answers


@dataclass
class Member:
    profile_id: uuid.UUID
    user_id: uuid.UUID
    company_id: uuid.UUID
    email: str
    role: str
    password: str = PASSWORD


@dataclass
class Tenant:
    company: Company
    members: dict[str, Member] = field(default_factory=dict)

    @property
    def id(self) -> uuid.UUID:
        return self.company.id


class Factory:
    """Builds rows the way the product does (through services), as the service role."""

    def __init__(self, app):
        self.app = app
        self.db = app.extensions["flowtrack.db"]

    def company(self, name: str = "Company", **fields) -> Company:
        with self.db.service() as session:
            company = create_company(session, f"{name} {secrets.token_hex(3)}", **fields)
            session.commit()
            return company

    def member(self, company_id: uuid.UUID, role: str, *, email: str | None = None, password: str = PASSWORD,
               **profile_fields) -> Member:
        email = email or f"{role}-{secrets.token_hex(4)}@example.com"
        if role in (Role.technician.value, Role.vendor.value):
            profile_fields.setdefault("certification_number", f"T-{secrets.token_hex(3)}")
            profile_fields.setdefault("certification_expires_on", dt.date.today() + dt.timedelta(days=365))
        if role == Role.vendor.value and "vendor_id" not in profile_fields:
            profile_fields["vendor_id"] = self.vendor(company_id).id
        with self.db.service() as session:
            profile: Profile = add_member(session, company_id, email=email, password=password, role=role,
                                          full_name=f"{role.replace('_', ' ').title()} Person", **profile_fields)
            session.commit()
            return Member(profile.id, profile.user_id, company_id, email.lower(), role, password)

    def vendor(self, company_id: uuid.UUID, name: str | None = None):
        """An outside testing company the company subcontracts to."""
        from flowtrack.models.vendors import Vendor

        with self.db.service() as session:
            vendor = Vendor(company_id=company_id, name=name or f"Vendor {secrets.token_hex(3)}",
                            contact_email=f"vendor-{secrets.token_hex(3)}@example.com")
            session.add(vendor)
            session.commit()
            return vendor

    def tenant(self, name: str) -> Tenant:
        tenant = Tenant(self.company(name))
        for role in ROLES:
            tenant.members[role] = self.member(tenant.id, role)
        return tenant

    def finished_export(self, tenant: Tenant, kind: str = "data_zip"):
        """An export whose file is in the file store and ready to download."""
        from flowtrack.exports import services as exports
        from flowtrack.models.exports import Export

        with self.db.service() as session:
            export = Export(company_id=tenant.id, kind=kind, status="done", progress=100, row_count=1,
                            file_size=5, expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
            session.add(export)
            session.commit()
            file_store(self.app).put(exports.file_key(export), b"bytes", exports.MEDIA_TYPE[kind])
            return export

    def backdate_audit(self, tenant: Tenant, days: int) -> None:
        """Move a company's audit history into the past, resealing the chain as if written then."""
        import sqlalchemy as sa

        from flowtrack.audit import services as audit
        from flowtrack.models.audit import AuditEntry

        with self.db.service() as session:
            prev = audit.GENESIS_HASH
            entries = session.scalars(sa.select(AuditEntry).where(AuditEntry.company_id == tenant.id)
                                      .order_by(AuditEntry.seq))
            for entry in entries:
                entry.occurred_at -= dt.timedelta(days=days)
                entry.prev_hash = prev
                entry.entry_hash = prev = audit.entry_hash(entry)
            session.commit()

    def session_token(self, member: Member, **policy) -> str:
        """A live server-side session for a member, as a login would create."""
        policy = SessionPolicy(idle_timeout=policy.get("idle_timeout", dt.timedelta(minutes=30)),
                               lifetime=policy.get("lifetime", dt.timedelta(hours=12)))
        with self.db.service() as session:
            row, token = new_session(member.company_id, member.user_id, policy, ip="127.0.0.1", user_agent="pytest")
            session.add(row)
            session.commit()
        return remember_secret(token)


class Browser(FlaskClient):
    """A test client that signs in, sends CSRF tokens like the pages do, and speaks HTMX."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each browser its own address, so per-IP rate limits do not leak between tests.
        self.environ_base["REMOTE_ADDR"] = (f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}."
                                            f"{secrets.randbelow(250) + 1}")

    def sign_in_as(self, member: Member) -> str:
        token = Factory(self.application).session_token(member)
        with self.session_transaction() as session:
            session["sid"] = token
        return token

    def csrf_token(self) -> str:
        """The token a page of this browser's session would carry (Flask-WTF's own signing)."""
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", secrets.token_hex(20))
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def submit(self, url: str, data: dict | None = None, **kwargs):
        """POST a form as the page would, CSRF token included."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def htmx(self, method: str, url: str, data: dict | None = None, **kwargs):
        """An HTMX request: HX-Request header, CSRF token in the X-CSRFToken header."""
        headers = {"HX-Request": "true", **kwargs.pop("headers", {})}
        if method.upper() != "GET":
            headers["X-CSRFToken"] = self.csrf_token()
        return self.open(url, method=method.upper(), data=data, headers=headers, **kwargs)
