"""Test-due reminders: which customers to remind about which devices today, sent once and only once.

A device is reminded at each lead time the company chose (say 60 and 30 days before its due date) and once
more when it is overdue. A run takes, per device, the most urgent notice due by today (a missed day does not
send the 60-day notice on top of the 30-day one), claims it in `notification_log` (the unique key on device,
due date and notice makes a second run or a second worker claim nothing), and then writes one message per
customer covering the devices claimed for them: an email where the customer has an address, otherwise a
letter for the office's next printed batch. Customers who opted out, and archived ones, are left alone.

Customers who agreed to texts (and did not reply STOP) also get a text message when an SMS provider is
configured; it is a channel of its own in the log, sent by a job that RQ retries.

Email goes through the outbox (flowtrack/notifications), which delivers it with retries. A run stays inside
what is left of the company's hourly email and text limits; customers beyond them are not claimed and wait
for the next run, so nothing is lost to a limit.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import insert

from flowtrack.audit import services as audit
from flowtrack.booking import services as booking
from flowtrack.companies.services import settings_of
from flowtrack.core.dates import date
from flowtrack.core.db import new_id, utcnow
from flowtrack.core.queue import enqueue_after_commit
from flowtrack.models.companies import Company, CompanySettings
from flowtrack.models.customers import Customer, CustomerLocation, Device, DeviceStatus
from flowtrack.models.notifications import NotificationLog
from flowtrack.notifications import services as outbox
from flowtrack.notifications import sms, suppressions
from flowtrack.notifications.links import external_url

OVERDUE = "overdue"
MAX_LEAD_DAYS = 365
LETTER_BATCH = 500
HOURLY_SMS_LIMIT = 100  # texts per company per hour
SMS_RETRIES = 2         # RQ runs a failed text job this many times more before it is shown as failed


# --- settings ------------------------------------------------------------------------------------------

def save_settings(session: so.Session, *, enabled: bool, lead_days: list[int], when_overdue: bool) -> None:
    settings = settings_of(session)
    before = {"enabled": settings.reminders_enabled, "lead_days": list(settings.reminder_lead_days),
              "when_overdue": settings.remind_when_overdue}
    settings.reminders_enabled, settings.remind_when_overdue = enabled, when_overdue
    settings.reminder_lead_days = sorted(set(lead_days), reverse=True)
    settings.updated_at = utcnow()
    session.add(settings)
    session.flush()
    after = {"enabled": enabled, "lead_days": settings.reminder_lead_days, "when_overdue": when_overdue}
    if after != before:
        audit.record(session, "reminders.settings_changed", entity_type="company_settings",
                     changes=audit.changes_between(before, after))


def parse_lead_days(text: str) -> list[int]:
    """"60, 30" -> [60, 30]; raises ValueError with a message for the form."""
    parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
    try:
        days = [int(p) for p in parts]
    except ValueError:
        raise ValueError("Whole numbers of days, separated by commas (e.g. 60, 30).") from None
    if len(days) > 4 or any(not 1 <= d <= MAX_LEAD_DAYS for d in days):
        raise ValueError(f"Up to four lead times, each between 1 and {MAX_LEAD_DAYS} days.")
    return days


# --- which notice (pure) -------------------------------------------------------------------------------

def stage_for(days_until_due: int, lead_days: list[int], when_overdue: bool) -> str | None:
    """The most urgent notice a device is due for: "overdue", the smallest lead time reached ("30d"), or None."""
    if days_until_due < 0:
        return OVERDUE if when_overdue else None
    reached = [lead for lead in lead_days if days_until_due <= lead]
    return f"{min(reached)}d" if reached else None


def stage_label(stage: str) -> str:
    return "overdue" if stage == OVERDUE else f"{stage[:-1]} days before"


# --- a run -----------------------------------------------------------------------------------------------

@dataclass
class Candidate:
    device: Device
    location: CustomerLocation
    customer: Customer
    stage: str


@dataclass
class RunResult:
    emails: int = 0
    texts: int = 0
    letters: int = 0
    devices: int = 0
    waiting_for_limit: int = 0
    customers: list[str] = field(default_factory=list)


def _candidates(session: so.Session, settings: CompanySettings, today: dt.date) -> list[Candidate]:
    horizon = today + dt.timedelta(days=max(settings.reminder_lead_days or [0]))
    statement = (sa.select(Device, CustomerLocation, Customer)
                 .join(CustomerLocation, CustomerLocation.id == Device.location_id)
                 .join(Customer, Customer.id == CustomerLocation.customer_id)
                 .where(Device.status == DeviceStatus.active.value, Device.next_test_due <= horizon,
                        Customer.archived_at.is_(None), Customer.reminders_opted_out_at.is_(None))
                 .order_by(Device.next_test_due, Device.id))
    if not settings.remind_when_overdue:
        statement = statement.where(Device.next_test_due >= today)
    found = []
    for device, location, customer in session.execute(statement):
        stage = stage_for((device.next_test_due - today).days, settings.reminder_lead_days,
                          settings.remind_when_overdue)
        if stage:
            found.append(Candidate(device, location, customer, stage))
    return found


def _claim(session: so.Session, candidates: list[Candidate], channel_of: dict[uuid.UUID, str],
           status: str) -> set[uuid.UUID]:
    """Insert the log rows; returns the devices this run won (a row already there belongs to an earlier run)."""
    if not candidates:
        return set()
    rows = [{"id": new_id(), "company_id": session.info["company_id"], "customer_id": c.customer.id,
             "device_id": c.device.id, "due_on": c.device.next_test_due, "stage": c.stage,
             "channel": channel_of[c.customer.id], "status": status, "attempts": 0, "created_at": utcnow()}
            for c in candidates]
    statement = (insert(NotificationLog).values(rows)
                 .on_conflict_do_nothing(constraint="notification_log_notice_key")
                 .returning(NotificationLog.device_id))
    return set(session.scalars(statement))


def textable(customer: Customer) -> str | None:
    """The number to text a customer at: only with their agreement, never after STOP."""
    if not customer.sms_consent or customer.sms_opted_out_at is not None:
        return None
    return sms.normal_number(customer.phone)


def texts_in_last_hour(session: so.Session) -> int:
    return session.scalar(sa.select(sa.func.count(sa.distinct(NotificationLog.customer_id))).where(
        NotificationLog.channel == "sms", NotificationLog.created_at > utcnow() - dt.timedelta(hours=1)))


def _within(limit: int, wanted: list[uuid.UUID], result: RunResult) -> list[uuid.UUID]:
    if len(wanted) > limit:
        result.waiting_for_limit += len(wanted) - max(limit, 0)
    return wanted[:max(limit, 0)]


def run_reminders(session: so.Session, today: dt.date, *, opt_out_link: Callable[[Customer], str]) -> RunResult:
    """Remind the company's customers of devices coming due. Safe to run twice, or twice at once."""
    settings = settings_of(session)
    result = RunResult()
    if not settings.reminders_enabled:
        return result
    by_customer: dict[uuid.UUID, list[Candidate]] = defaultdict(list)
    for candidate in _candidates(session, settings, today):
        by_customer[candidate.customer.id].append(candidate)
    customers = {cid: items[0].customer for cid, items in by_customer.items()}
    # An address that bounced or complained gets no mail: that customer is sent a letter instead.
    undeliverable = suppressions.undeliverable(session, session.info["company_id"],
                                               [c.email for c in customers.values() if c.email])
    mailable = {cid for cid, c in customers.items() if c.email and c.email.strip().lower() not in undeliverable}
    mail = _within(outbox.HOURLY_EMAIL_LIMIT - outbox.sent_in_last_hour(session, session.info["company_id"]),
                   [cid for cid in customers if cid in mailable], result)
    letters = [cid for cid in customers if cid not in mailable]
    texts = _within(HOURLY_SMS_LIMIT - texts_in_last_hour(session),
                    [cid for cid, c in customers.items() if textable(c)], result) \
        if sms.sms_settings() is not None else []

    channel_of = {**dict.fromkeys(mail, "email"), **dict.fromkeys(letters, "letter")}
    won = _claim(session, [c for cid in channel_of for c in by_customer[cid]], channel_of, "claimed")
    won_texts = _claim(session, [c for cid in texts for c in by_customer[cid]], dict.fromkeys(texts, "sms"), "queued")
    company = session.scalar(sa.select(Company))
    # Those who can sign in to the portal are invited to book a time there, while the office has windows open.
    book_online = booking.customers_with_portal_login(session, mail) if booking.offers_booking(session, today) \
        else set()
    for customer_id, channel in channel_of.items():
        items = [c for c in by_customer[customer_id] if c.device.id in won]
        if not items:
            continue
        customer = customers[customer_id]
        rows = list(session.scalars(sa.select(NotificationLog).where(
            NotificationLog.customer_id == customer_id, NotificationLog.channel == channel,
            NotificationLog.device_id.in_([c.device.id for c in items]), NotificationLog.status == "claimed")))
        if channel == "email":
            subject, body = reminder_email(company.name, customer, items, opt_out_link(customer),
                                           book_at=external_url("customer_booking.page")
                                           if customer_id in book_online else None)
            email = outbox.send_email(session, customer.email, subject, body)
            for row in rows:
                row.email_id, row.status = email.id, email.status
            result.emails += 1
        else:
            for row in rows:
                row.status = "to_print"
            result.letters += 1
        result.devices += len(items)
        result.customers.append(str(customer_id))
    for customer_id in texts:
        if any(c.device.id in won_texts for c in by_customer[customer_id]):
            _queue_texts(session, customer_id)
            result.texts += 1
    if result.devices or result.texts:
        audit.record(session, "reminders.sent", entity_type="company",
                     changes={"emails": result.emails, "texts": result.texts, "letters": result.letters,
                              "devices": result.devices, "customers": result.customers})
    return result


def _queue_texts(session: so.Session, customer_id: uuid.UUID) -> None:
    from flowtrack.reminders.tasks import deliver_texts, text_retry

    enqueue_after_commit(session, deliver_texts, session.info["company_id"], str(customer_id),
                                description="Text message", retry=text_retry())


def deliver_texts(session: so.Session, customer_id: uuid.UUID, settings: sms.SmsSettings | None, *,
                  retries_left: int) -> str:
    """Send a customer's queued reminder texts as one message. Raises SmsError while RQ has retries left;
    after the last, the rows show as failed with the reason."""
    rows = list(session.scalars(sa.select(NotificationLog).where(
        NotificationLog.customer_id == customer_id, NotificationLog.channel == "sms",
        NotificationLog.status == "queued").order_by(NotificationLog.due_on).with_for_update()))
    if not rows:
        return "nothing queued"
    customer = session.get(Customer, customer_id)
    number = textable(customer) if customer else None
    if settings is None or number is None:
        return _texts_done(session, rows, "failed", "texting is off" if settings is None else "no consent")
    company = session.scalar(sa.select(Company))
    devices = {d.id: d for d in session.scalars(sa.select(Device).where(Device.id.in_([r.device_id for r in rows])))}
    body = text_message(company.name, [devices[r.device_id] for r in rows if r.device_id in devices],
                        overdue=any(r.stage == OVERDUE for r in rows))
    for row in rows:
        row.attempts += 1
    try:
        sms.send(settings, number, body)
    except sms.SmsError as error:
        if retries_left > 0:
            for row in rows:
                row.error = str(error)[:300]
            session.commit()
            raise
        return _texts_done(session, rows, "failed", str(error))
    return _texts_done(session, rows, "sent", None)


def _texts_done(session: so.Session, rows: list[NotificationLog], status: str, error: str | None) -> str:
    now = utcnow()
    for row in rows:
        row.status, row.error = status, (error or "")[:300] or None
        row.sent_at = now if status == "sent" else None
    session.commit()
    return status


def text_message(company_name: str, devices: list[Device], *, overdue: bool) -> str:
    first_due = min(d.next_test_due for d in devices)
    what = f"{len(devices)} backflow assembl{'ies' if len(devices) != 1 else 'y'}"
    when = "overdue for the yearly test" if overdue else f"due for the yearly test by {first_due:%b %-d}"
    return f"{company_name}: {what} at your property {'are' if len(devices) != 1 else 'is'} {when}. " \
           "Call us to book a visit. Reply STOP to opt out."


def stale_texts(session: so.Session, older_than: dt.timedelta) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(company, customer) with texts still queued whose job was lost (service role: all companies)."""
    return list(session.execute(
        sa.select(NotificationLog.company_id, NotificationLog.customer_id).distinct()
        .where(NotificationLog.channel == "sms", NotificationLog.status == "queued",
               NotificationLog.created_at < utcnow() - older_than)).all())


def set_texting_stopped(session: so.Session, number: str, stopped: bool) -> int:
    """A STOP (or START) texted back to us: every customer with that number, in any company (service role)."""
    digits = number.lstrip("+")
    matches = [c for c in session.scalars(sa.select(Customer).where(
        sa.func.regexp_replace(Customer.phone, r"\D", "", "g").in_([digits, digits[1:]])))
        if sms.normal_number(c.phone) == number]
    changed = 0
    for customer in matches:
        if (customer.sms_opted_out_at is not None) == stopped:
            continue
        customer.sms_opted_out_at = utcnow() if stopped else None
        audit.record(session, "customer.sms_stopped" if stopped else "customer.sms_restarted",
                     entity_type="customer", entity_id=customer.id, company_id=customer.company_id,
                     actor=audit.Actor(None, "customer (text reply)"))
        changed += 1
    return changed


def _device_lines(items: list[Candidate]) -> list[str]:
    return [f"- {c.device.device_type} assembly, serial {c.device.serial}, at {c.location.one_line}: "
            + (f"overdue since {date(c.device.next_test_due, long=True)}" if c.stage == OVERDUE
               else f"due {date(c.device.next_test_due, long=True)}") for c in items]


def reminder_email(company_name: str, customer: Customer, items: list[Candidate], opt_out: str, *,
                   book_at: str | None = None) -> tuple[str, str]:
    overdue = any(c.stage == OVERDUE for c in items)
    subject = (f"Backflow test overdue: {len(items)} assembl{'ies' if len(items) != 1 else 'y'}" if overdue
               else f"Backflow test due soon: {len(items)} assembl{'ies' if len(items) != 1 else 'y'}")
    body = "\n".join([
        f"Hello {customer.name},", "",
        "Your water district requires a yearly test of each backflow prevention assembly. "
        + ("These are past their due date:" if overdue else "These fall due soon:"), "",
        *_device_lines(items), "",
        *([f"Book a time for the test online (sign in to your account with {company_name}):", book_at, "",
           f"Or reply to this email or call {company_name}.", ""] if book_at else
          [f"Reply to this email or call {company_name} to book a visit.", ""]),
        f"To stop these reminders: {opt_out}",
    ])
    return subject, body


# --- letters and the log for the office ----------------------------------------------------------------

@dataclass
class Letter:
    customer: Customer
    lines: list[str]
    overdue: bool


def letters_to_print(session: so.Session, limit: int = LETTER_BATCH) -> tuple[list[Letter], list[NotificationLog]]:
    """The oldest waiting letters (one per customer, all their waiting devices), at most `limit` customers."""
    rows = list(session.scalars(
        sa.select(NotificationLog).where(NotificationLog.channel == "letter", NotificationLog.status == "to_print")
        .order_by(NotificationLog.created_at, NotificationLog.id)))
    customers: dict[uuid.UUID, list[NotificationLog]] = {}
    for row in rows:
        if row.customer_id in customers or len(customers) < limit:
            customers.setdefault(row.customer_id, []).append(row)
    taken = [row for group in customers.values() for row in group]
    devices = {d.id: (d, loc, cust) for d, loc, cust in session.execute(
        sa.select(Device, CustomerLocation, Customer).join(CustomerLocation, CustomerLocation.id == Device.location_id)
        .join(Customer, Customer.id == CustomerLocation.customer_id)
        .where(Device.id.in_([row.device_id for row in taken])))}
    letters = []
    for group in customers.values():
        items = [Candidate(devices[r.device_id][0], devices[r.device_id][1], devices[r.device_id][2], r.stage)
                 for r in group if r.device_id in devices]
        if items:
            letters.append(Letter(items[0].customer, _device_lines(items), any(r.stage == OVERDUE for r in group)))
    return letters, taken


def mark_printed(session: so.Session, rows: list[NotificationLog], letters: int) -> None:
    now = utcnow()
    for row in rows:
        row.status, row.printed_at = "printed", now
    audit.record(session, "reminders.letters_printed", entity_type="company",
                 changes={"letters": letters, "devices": len(rows)})


def waiting_letters(session: so.Session) -> int:
    return session.scalar(sa.select(sa.func.count(sa.distinct(NotificationLog.customer_id)))
                          .where(NotificationLog.channel == "letter", NotificationLog.status == "to_print"))


def recent_notices(session: so.Session, limit: int = 100) -> list[tuple[NotificationLog, Device, Customer]]:
    return list(session.execute(
        sa.select(NotificationLog, Device, Customer).join(Device, Device.id == NotificationLog.device_id)
        .join(Customer, Customer.id == NotificationLog.customer_id)
        .options(so.joinedload(NotificationLog.email))
        .order_by(NotificationLog.created_at.desc(), NotificationLog.id).limit(limit)))


def opt_out(session: so.Session, customer: Customer) -> bool:
    """The customer's own request (from the link in a reminder); True when it changed something."""
    if customer.reminders_opted_out_at is not None:
        return False
    customer.reminders_opted_out_at = utcnow()
    audit.record(session, "customer.reminders_opted_out", entity_type="customer", entity_id=customer.id,
                 company_id=customer.company_id, actor=audit.Actor(None, "customer (opt-out link)"))
    return True
