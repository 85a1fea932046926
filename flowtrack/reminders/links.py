"""The opt-out link in a reminder: signed (so nobody opts out someone else), and without expiry (a letter on a
fridge may be read a year later)."""
from __future__ import annotations

import uuid

from itsdangerous import BadSignature, URLSafeSerializer

from flowtrack.models.customers import Customer
from flowtrack.notifications.links import external_url

SALT = "reminder-opt-out"


def opt_out_token(secret_key: str, customer: Customer) -> str:
    return URLSafeSerializer(secret_key, salt=SALT).dumps([str(customer.company_id), str(customer.id)])


def opt_out_url(secret_key: str, customer: Customer) -> str:
    return external_url("reminders.opt_out", token=opt_out_token(secret_key, customer))


def read_token(secret_key: str, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(company id, customer id) of a genuine token, else None."""
    try:
        company_id, customer_id = URLSafeSerializer(secret_key, salt=SALT).loads(token)
        return uuid.UUID(company_id), uuid.UUID(customer_id)
    except (BadSignature, ValueError, TypeError):
        return None
