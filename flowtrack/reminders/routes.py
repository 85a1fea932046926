"""Reminders for the office (what was sent, the outbox, letters to print; the settings are the admin's, on the
company settings page), the customer's opt-out page, reached from the link in a reminder, and the SMS provider's
webhook for STOP and START replies."""
import datetime as dt
import logging
from urllib.parse import urljoin

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.companies.services import company_timezone, settings_of
from flowtrack.core.extensions import csrf, limiter
from flowtrack.core.permissions import REMINDERS_MANAGE, public, requires
from flowtrack.core.web import get_db
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer
from flowtrack.notifications import services as outbox
from flowtrack.notifications import sms, suppressions
from flowtrack.notifications.links import base_url
from flowtrack.reminders import services
from flowtrack.reminders.forms import OptOutForm
from flowtrack.reminders.letters import letters_pdf
from flowtrack.reminders.links import read_token

bp = Blueprint("reminders", __name__, url_prefix="/reminders")
log = logging.getLogger("flowtrack.reminders")


@bp.get("/")
@requires(REMINDERS_MANAGE)
def index():
    """What was sent, the outbox and the letters to print; the settings they follow are the admin's, in company
    settings."""
    return render_template("reminders/index.html", settings=settings_of(g.db), notices=services.recent_notices(g.db),
                           emails=outbox.recent_emails(g.db), hourly_email_limit=outbox.HOURLY_EMAIL_LIMIT,
                           max_attempts=outbox.MAX_ATTEMPTS, delivery_problem=outbox.delivery_problem,
                           letters=services.waiting_letters(g.db),
                           undeliverable=len(suppressions.standing_list(g.db)),
                           timezone=company_timezone(g.db).key, stage_label=services.stage_label)


@bp.post("/letters.pdf")
@requires(REMINDERS_MANAGE)
def print_letters():
    """The waiting letters as one PDF, a page per customer; they are then marked printed."""
    letters, rows = services.letters_to_print(g.db)
    if not letters:
        flash("No letters are waiting to be printed.", "error")
        return redirect(url_for("reminders.index"), code=303)
    company = g.db.get(Company, current_user.company_id)
    pdf = letters_pdf(company.name, letters, dt.datetime.now(company_timezone(g.db)).date())
    services.mark_printed(g.db, rows, len(letters))
    g.db.commit()
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="reminder-letters.pdf"'})


@bp.route("/opt-out/<token>", methods=["GET", "POST"])
@public
@limiter.limit("30 per minute")
def opt_out(token: str):
    """The customer's "stop these reminders": a page with one button, then done."""
    found = read_token(current_app.secret_key, token)
    with get_db().service() as session:
        customer = session.get(Customer, found[1]) if found else None
        if customer is None or customer.company_id != found[0]:
            return render_template("reminders/opt_out.html", customer=None), 404
        company = session.get(Company, customer.company_id)
        form = OptOutForm()
        done = customer.reminders_opted_out_at is not None
        if not done and form.validate_on_submit():
            services.opt_out(session, customer)
            session.commit()
            done = True
        return render_template("reminders/opt_out.html", customer=customer, company=company, form=form, done=done)


@bp.post("/webhooks/sms")
@csrf.exempt
@public  # no session: the provider's signature over the URL and fields is the authentication
@limiter.limit("120 per minute")
def sms_reply():
    """A text sent back to our number: STOP ends text reminders to that number, START resumes them."""
    settings = sms.sms_settings()
    if settings is None:
        return Response("texting is not configured", status=503, mimetype="text/plain")
    params = request.form.to_dict()
    # The provider signs the address it was given, query string and all: the plain one for the home region, one
    # with `?region=ca` for Canada's endpoint (docs/regions.md).
    url = urljoin(base_url(), request.path.lstrip("/")) + (
        f"?{request.query_string.decode()}" if request.query_string else "")
    if not sms.valid_signature(settings.auth_token, url, params, request.headers.get("X-Twilio-Signature")):
        log.warning("SMS webhook refused: bad signature from %s", request.remote_addr)
        return Response("invalid signature", status=403, mimetype="text/plain")
    word = (params.get("Body") or "").strip().upper()
    number = sms.normal_number(params.get("From"))
    if number and (word in sms.STOP_WORDS or word in sms.START_WORDS):
        with get_db().service() as session:
            changed = services.set_texting_stopped(session, number, stopped=word in sms.STOP_WORDS)
            session.commit()
        log.info("SMS %s applied to %d customer record(s)", "STOP" if word in sms.STOP_WORDS else "START", changed)
    return Response("<Response/>", mimetype="application/xml")
