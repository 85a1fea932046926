"""The directory: which region a company is in, and which region an email address signs in to. Global, in the
home region's database, and holding no personal data in clear: a company's id, and a keyed hash (HMAC-SHA256) of
the normalised address (docs/regions.md says why there).

Its tables exist in every region's database (one migration chain for all), but only the home region's are read
or written, as the service role: sign-in, sign-up and the creation of a login identity.

An entry is written before the rows it points to, in its own transaction: should the region's transaction fail
after it, the entry points to a region where that address has no account yet, which sign-in treats as a wrong
password, and the next attempt to create the account there reuses it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, has_app_context
from sqlalchemy.dialects.postgresql import insert

from flowtrack.core.config import setting
from flowtrack.core.db import Base, utcnow
from flowtrack.core.regions import current_region, home_region


class EmailInAnotherRegion(Exception):
    """The address already signs in to another region (so it has an account there)."""


class DirectoryCompany(Base):
    """A company's region (migration 0049). Not a tenant row: the company may live in another database."""

    __tablename__ = "directory_companies"
    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True)
    region: so.Mapped[str] = so.mapped_column(sa.String(8))
    placed_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class DirectoryLogin(Base):
    """The region an address signs in to, by the address's keyed hash (migration 0049)."""

    __tablename__ = "directory_logins"
    email_key: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary(32), primary_key=True)
    region: so.Mapped[str] = so.mapped_column(sa.String(8))


def email_key(email: str) -> bytes:
    """The address's keyed hash: DIRECTORY_KEY's, else one derived from SECRET_KEY for the directory alone."""
    given = setting("DIRECTORY_KEY")
    key = given.encode() if given else _derived_key(current_app.config["SECRET_KEY"])
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).digest()


def _derived_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"flowtrack directory of sign-in addresses", hashlib.sha256).digest()


def region_of_email(email: str) -> str | None:
    """The region the address signs in to, or None (an address the directory does not know: the home region's,
    from before regions, or none at all)."""
    with home_region().db.service() as session:
        return session.scalar(sa.select(DirectoryLogin.region).where(DirectoryLogin.email_key == email_key(email)))


def sign_in_region(email: str) -> str:
    """The region a sign-in (or a reset link's request) with this address goes to: the directory's, else the home
    region's (where every account made before regions is)."""
    return region_of_email(email) or home_region().name


def region_of_company(company_id: uuid.UUID) -> str | None:
    with home_region().db.service() as session:
        return session.scalar(sa.select(DirectoryCompany.region).where(DirectoryCompany.id == company_id))


def claim_email(email: str) -> None:
    """Enter the address as signing in to the running code's region, before its account is created there.
    Raises EmailInAnotherRegion when it signs in to another region already. Outside an app (a script on one
    database) there is no directory to write to."""
    if not has_app_context():
        return
    region = current_region().name
    with home_region().db.service() as session:
        key = email_key(email)
        session.execute(insert(DirectoryLogin).values(email_key=key, region=region).on_conflict_do_nothing())
        held = session.scalar(sa.select(DirectoryLogin.region).where(DirectoryLogin.email_key == key))
        session.commit()
    if held != region:
        raise EmailInAnotherRegion


def forget_addresses(emails: list[str]) -> None:
    """Remove the addresses' entries that name the running code's region, whose accounts there are gone (the
    people of a company the sweep deleted): the address may then sign up anywhere, and no keyed hash of it is kept.
    An entry naming another region is another account's, and stays."""
    if not has_app_context() or not emails:
        return
    with home_region().db.service() as session:
        session.execute(sa.delete(DirectoryLogin).where(
            DirectoryLogin.email_key.in_([email_key(email) for email in emails]),
            DirectoryLogin.region == current_region().name))
        session.commit()


def place_company(company_id: uuid.UUID) -> None:
    """Enter a new company as living in the running code's region (before its rows are written there)."""
    if not has_app_context():
        return
    with home_region().db.service() as session:
        session.execute(insert(DirectoryCompany).values(id=company_id, region=current_region().name)
                        .on_conflict_do_nothing())
        session.commit()


def rebuild() -> list[str]:
    """Enter in the directory what every region's database holds: each company's region, and each address's
    (by its keyed hash). Entries are only added (or a company's region corrected), never removed: one written a
    moment ago for an account whose transaction has not committed yet must stay. Run by
    `flowtrack db upgrade` (a deployment from before regions has every account in the home region and none in
    the directory) and `flowtrack directory rebuild` (after a new DIRECTORY_KEY). Returns the addresses' problems:
    an address with an account in two regions keeps the entry it had, and is reported by its hash only."""
    from flowtrack.core.regions import all_regions

    companies: dict[uuid.UUID, str] = {}
    logins: dict[bytes, str] = {}
    problems: list[str] = []
    for region in all_regions():
        with region.db.service() as session:
            # Table names, not the models: the kernel knows no feature's model, and these two columns are all
            # it reads.
            for (company_id,) in session.execute(sa.text("SELECT id FROM companies")):
                companies[company_id] = region.name
            for (email,) in session.execute(sa.text("SELECT email FROM users")):
                key = email_key(email)
                if logins.setdefault(key, region.name) != region.name:
                    problems.append(f"an address ({key.hex()[:12]}…) has accounts in {logins[key]} and {region.name}")
    with home_region().db.service() as session:
        held_logins = dict(session.execute(sa.select(DirectoryLogin.email_key, DirectoryLogin.region)).all())
        held_companies = dict(session.execute(sa.select(DirectoryCompany.id, DirectoryCompany.region)).all())
        for key, region_name in logins.items():
            if key not in held_logins:
                session.add(DirectoryLogin(email_key=key, region=region_name))
        for company_id, region_name in companies.items():
            if company_id not in held_companies:
                session.add(DirectoryCompany(id=company_id, region=region_name))
            elif held_companies[company_id] != region_name:
                problems.append(f"company {company_id} is in {region_name}, the directory said "
                                f"{held_companies[company_id]}")
                session.execute(sa.update(DirectoryCompany).where(DirectoryCompany.id == company_id)
                                .values(region=region_name))
        session.commit()
    return problems
