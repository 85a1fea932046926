"""The mail provider's webhook for bounces and complaints, and the office's list of addresses that get no mail."""
from __future__ import annotations

import logging
import time
import uuid

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.companies.services import company_timezone
from flowtrack.core.config import setting
from flowtrack.core.extensions import csrf, limiter
from flowtrack.core.permissions import REMINDERS_MANAGE, public, requires
from flowtrack.core.web import get_db
from flowtrack.notifications import delivery_reports, services, suppressions

bp = Blueprint("notifications", __name__)
log = logging.getLogger("flowtrack.notifications")


@bp.post("/webhooks/email")
@csrf.exempt
@public  # no session: the provider's signature over the raw body and its time is the authentication
@limiter.limit("120 per minute")
def email_reports():
    """Bounces and complaints from the mail provider: a permanent one stops mail to that address."""
    secret = setting("MAIL_WEBHOOK_SECRET")
    if not secret:
        log.error("email webhook refused: MAIL_WEBHOOK_SECRET is not set")
        return jsonify(error="the email webhook is not configured"), 503
    body = request.get_data()
    try:
        delivery_reports.verify(secret, body, request.headers.get(delivery_reports.SIGNATURE_HEADER),
                                now=time.time())
    except delivery_reports.RefusedSignature as refusal:
        # Neither the body nor the header is logged: unauthenticated input that names people's addresses.
        log.warning("email webhook refused (%s) from %s, %d bytes", refusal, request.remote_addr, len(body))
        return jsonify(error="invalid signature"), 401
    try:
        reports = delivery_reports.parse(body)
    except delivery_reports.UnreadableReport as problem:
        log.warning("email webhook: a signed body we cannot read (%s)", problem)
        return jsonify(error=str(problem)), 400
    with get_db().service() as session:
        stopped = sum(len(suppressions.record_report(session, report)) for report in reports)
        session.commit()
    log.info("email webhook: %d report(s), mail stopped to %d address(es) of companies", len(reports), stopped)
    return jsonify(received=len(reports), stopped=stopped)


@bp.get("/email/undeliverable")
@requires(REMINDERS_MANAGE)
def undeliverable():
    """The addresses the company's email no longer goes to, and those cleared lately."""
    return render_template("notifications/undeliverable.html", standing=suppressions.standing_list(g.db),
                           cleared=suppressions.recently_cleared(g.db), labels=suppressions.REASON_LABELS,
                           timezone=company_timezone(g.db).key)


@bp.post("/email/undeliverable/<uuid:suppression_id>/clear")
@requires(REMINDERS_MANAGE)
def clear_suppression(suppression_id: uuid.UUID):
    """The address was fixed: email goes to it again. Back to the customer's page when cleared from there."""
    row = suppressions.clear(g.db, suppression_id, current_user.user_id)
    if row is None:
        abort(404)
    g.db.commit()
    flash(f"Email to {row.address} will be sent again.", "success")
    customer_id = request.form.get("customer_id", "")
    try:
        return redirect(url_for("customers.detail", customer_id=uuid.UUID(customer_id)), code=303)
    except ValueError:
        return redirect(url_for("notifications.undeliverable"), code=303)


@bp.post("/email/<uuid:email_id>/send-again")
@requires(REMINDERS_MANAGE)
def send_again(email_id: uuid.UUID):
    """A message that failed after its tries goes out again, from the outbox."""
    email = services.send_again(g.db, email_id)
    if email is None:
        abort(404)
    g.db.commit()
    flash(f"The email to {email.to_address} will be sent again.", "success")
    return redirect(url_for("reminders.index", _anchor="outbox"), code=303)
