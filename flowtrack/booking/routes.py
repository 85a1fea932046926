"""Online booking: the office's page of windows and of bookings to confirm, and the customer's page in the portal
where they book a window for their assemblies coming due."""
from __future__ import annotations

import datetime as dt
import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_login import current_user

from flowtrack.booking import services
from flowtrack.booking.forms import BookForm, ConfirmationForm, DeclineForm, OpenWindowsForm
from flowtrack.companies.services import company_timezone, company_today, settings_of
from flowtrack.core.forms import add_error
from flowtrack.core.permissions import PORTAL_VIEW, SCHEDULE_MANAGE, requires
from flowtrack.models.booking import Booking, BookingStatus, DayPart
from flowtrack.portal import services as portal
from flowtrack.work_orders.bookings import technicians
from flowtrack.work_orders.services import WorkRefused

bp = Blueprint("booking", __name__, url_prefix="/booking")
customer_bp = Blueprint("customer_booking", __name__)


# --- the office ----------------------------------------------------------------------------------------

def _open_form(submitted: bool = False) -> OpenWindowsForm:
    if submitted:
        return OpenWindowsForm().with_technicians(technicians(g.db))
    tomorrow = company_today(g.db) + dt.timedelta(days=1)
    return OpenWindowsForm(formdata=None, first=tomorrow, last=tomorrow + dt.timedelta(days=13)) \
        .with_technicians(technicians(g.db))


def _page(*, open_form: OpenWindowsForm | None = None, setting_form: ConfirmationForm | None = None,
          declining: tuple[uuid.UUID, DeclineForm] | None = None, status: int = 200):
    today = company_today(g.db)
    waiting = services.waiting(g.db)
    need_confirmation = settings_of(g.db).bookings_need_confirmation
    return render_template(
        "booking/index.html", waiting=waiting, devices=services.devices_named(g.db, waiting),
        windows=services.by_day(services.upcoming_windows(g.db, today), company_timezone(g.db)),
        open_form=open_form or _open_form(), zone=company_timezone(g.db), declining=declining,
        need_confirmation=need_confirmation, label=services.window_label,
        names=services.names_of(g.db, {booking.window.technician_id for booking in waiting}),
        setting_form=setting_form or ConfirmationForm(formdata=None,
                                                      mode="confirm" if need_confirmation else "board")), status


@bp.get("/")
@requires(SCHEDULE_MANAGE)
def index():
    """The windows open for customers to book, the bookings waiting for the office, and opening more."""
    return _page()


@bp.post("/windows")
@requires(SCHEDULE_MANAGE)
def open_windows():
    form = _open_form(submitted=True)
    if not form.validate_on_submit():
        return _page(open_form=form, status=422)
    try:
        opened = services.open_windows(
            g.db, technician_id=uuid.UUID(form.technician.data), first=form.first.data, last=form.last.data,
            weekdays={int(day) for day in form.weekdays.data}, parts=[DayPart(p) for p in form.parts.data],
            capacity=form.capacity.data, area=services.parse_area(form.area.data), opened_by=current_user.user_id,
            today=company_today(g.db))
    except services.BookingRefused as refused:
        g.db.rollback()
        add_error(form.first, str(refused))
        return _page(open_form=form, status=422)
    g.db.commit()
    message = f"{len(opened.windows)} window{'s' if len(opened.windows) != 1 else ''} opened."
    if opened.skipped:
        message += " Not opened: " + "; ".join(opened.skipped[:10]) + ("; …" if len(opened.skipped) > 10 else "") + "."
    flash(message, "success" if opened.windows else "warning")
    return redirect(url_for("booking.index"), code=303)


@bp.post("/windows/<uuid:window_id>/close")
@requires(SCHEDULE_MANAGE)
def close_window(window_id: uuid.UUID):
    window = services.get_window(g.db, window_id, for_update=True)
    if window is None:
        abort(404)
    services.close_window(g.db, window, current_user.user_id)
    g.db.commit()
    flash("Window closed: customers can no longer book it; what was booked in it stays booked.", "success")
    return redirect(url_for("booking.index", _anchor="windows"), code=303)


@bp.post("/settings")
@requires(SCHEDULE_MANAGE)
def confirmation_setting():
    form = ConfirmationForm()
    if not form.validate_on_submit():
        return _page(setting_form=form, status=422)
    changed = services.save_confirmation_setting(g.db, need_confirmation=form.mode.data == "confirm")
    g.db.commit()
    flash(("Saved: customers' bookings now wait for you to confirm them." if form.mode.data == "confirm" else
           "Saved: customers' bookings now go straight on the board.") if changed else "Nothing changed.", "success")
    return redirect(url_for("booking.index"), code=303)


def _booking(booking_id: uuid.UUID) -> Booking:
    found = services.get_booking(g.db, booking_id, for_update=True)
    if found is None:
        abort(404)
    return found


@bp.post("/bookings/<uuid:booking_id>/confirm")
@requires(SCHEDULE_MANAGE)
def confirm(booking_id: uuid.UUID):
    booking = _booking(booking_id)
    try:
        services.confirm(g.db, booking, current_user.user_id, company_today(g.db))
    except services.AlreadyDecided:
        return _decided_already()
    except (WorkRefused, services.BookingRefused) as refused:
        g.db.rollback()
        flash(f"Not confirmed: {refused}", "error")
        return redirect(url_for("booking.index"), code=303)
    g.db.commit()
    flash(f"Confirmed: {booking.customer.name} is on the board, and emailed.", "success")
    return redirect(url_for("booking.index"), code=303)


@bp.post("/bookings/<uuid:booking_id>/decline")
@requires(SCHEDULE_MANAGE)
def decline(booking_id: uuid.UUID):
    booking = _booking(booking_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _page(declining=(booking.id, form), status=422)
    try:
        services.decline(g.db, booking, current_user.user_id, reason=form.reason.data)
    except services.AlreadyDecided:
        return _decided_already()
    except services.BookingRefused as refused:
        g.db.rollback()
        add_error(form.reason, str(refused))
        return _page(declining=(booking.id, form), status=422)
    g.db.commit()
    flash(f"Declined: {booking.customer.name} is emailed the reason.", "success")
    return redirect(url_for("booking.index"), code=303)


def _decided_already():
    g.db.rollback()
    flash("Someone answered this booking already.", "error")
    return redirect(url_for("booking.index"), code=303)


# --- the customer, in the portal ------------------------------------------------------------------------

def _customer_page(*, refused: dict | None = None, status: int = 200):
    customer = portal.customer_of(g.db, current_user.user_id)
    today, zone = company_today(g.db), company_timezone(g.db)
    return render_template(
        "booking/customer.html", customer=customer, zone=zone, today=today,
        by_day=lambda rows: services.by_day(rows, zone),
        places=services.places_to_book(g.db, customer.id, today) if customer else [],
        bookings=services.bookings_of(g.db, customer.id, today) if customer else [],
        form=BookForm(formdata=None), refused=refused or {}, label=services.window_label,
        horizon=services.horizon(g.db)), status


@customer_bp.get("/portal/book")
@requires(PORTAL_VIEW)
def page():
    """The customer's assemblies coming due, by place, and the times they may book a visit in."""
    return _customer_page()


def _id(value: str | None) -> uuid.UUID:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        abort(404)


@customer_bp.post("/portal/book")
@requires(PORTAL_VIEW)
def book():
    customer = portal.customer_of(g.db, current_user.user_id)
    if customer is None:
        abort(404)
    form = BookForm()
    kept = {"location": form.location.data, "devices": set(form.devices.data or []), "window": form.window.data}
    if not form.validate_on_submit():
        message = form.window.errors[0] if form.window.errors else "The form was not accepted; try again."
        return _customer_page(refused={**kept, "message": message}, status=422)
    try:
        booking = services.book(g.db, customer, current_user.user_id, window_id=_id(form.window.data),
                                location_id=_id(form.location.data),
                                device_ids=[_id(value) for value in form.devices.data],
                                today=company_today(g.db), form_key=form.key())
    except services.NotYours:
        abort(404)
    except (services.BookingRefused, services.WindowGone) as refused:
        g.db.rollback()
        gone = isinstance(refused, services.WindowGone)
        return _customer_page(refused={**kept, "window": None if gone else kept["window"], "message": str(refused)},
                              status=409 if gone else 422)
    g.db.commit()
    when = services.window_label(services.get_window(g.db, booking.window_id), company_timezone(g.db))
    flash(f"Booked: {when}. We emailed you the details." if booking.status == BookingStatus.confirmed.value else
          f"Asked for {when}. {current_user.company_name} will confirm it by email.", "success")
    return redirect(url_for("customer_booking.page"), code=303)
