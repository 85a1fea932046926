"""Customers: the searchable list, a customer's page, create, edit, archive, phone/email edited in place;
and their service locations."""
import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.account.links import invitation_link
from flowtrack.companies.services import company_timezone
from flowtrack.core.extensions import company_key, limiter
from flowtrack.core.forms import add_error
from flowtrack.core.permissions import (
    CUSTOMERS_EDIT,
    CUSTOMERS_VIEW,
    DEVICES_VIEW,
    WORK_ORDERS_VIEW,
    Role,
    allowed,
    own_work_of,
    requires,
)
from flowtrack.core.templating import is_fragment
from flowtrack.customers import services
from flowtrack.customers.forms import ContactForm, CustomerFilterForm, CustomerForm, LocationForm, PortalInviteForm
from flowtrack.devices import services as devices
from flowtrack.districts import services as districts
from flowtrack.models.autopay import SavedCard
from flowtrack.models.customers import Customer, CustomerLocation
from flowtrack.notifications import suppressions
from flowtrack.team import services as team
from flowtrack.work_orders import services as work_orders

bp = Blueprint("customers", __name__)


def _customer(customer_id: uuid.UUID) -> Customer:
    customer = services.get_customer(g.db, customer_id)
    if customer is None:
        abort(404)
    return customer


@bp.get("/customers/")
@requires(CUSTOMERS_VIEW)
def index():
    """Customers by name or age, searched by the beginning of the name, a page at a time."""
    form = CustomerFilterForm(request.args)
    valid = form.validate()
    query = services.CustomerQuery(q=form.q.data, status=form.status.data, sort=form.sort.data,
                                   after=request.args.get("after")) if valid else services.CustomerQuery()
    page = services.list_customers(g.db, query)
    status = 200 if valid else 422
    if is_fragment():
        return render_template("customers/_rows.html", page=page, query=query), status
    return render_template("customers/index.html", form=form, page=page, query=query), status


@bp.route("/customers/new", methods=["GET", "POST"])
@requires(CUSTOMERS_EDIT)
def new():
    form = CustomerForm()
    if not form.validate_on_submit():
        return render_template("customers/form.html", form=form, customer=None), 422 if form.is_submitted() else 200
    customer = services.create_customer(g.db, **{f: form[f].data for f in services.CUSTOMER_FIELDS})
    g.db.commit()
    flash(f"{customer.name} was added.", "success")
    return redirect(url_for("customers.detail", customer_id=customer.id), code=303)


@bp.get("/customers/<uuid:customer_id>")
@requires(CUSTOMERS_VIEW)
def detail(customer_id: uuid.UUID):
    """A customer with their service locations and the devices at each, and their latest work orders."""
    customer = services.customer_with_sites(g.db, customer_id)
    if customer is None:
        abort(404)
    orders = work_orders.list_work_orders(g.db, customer_id=customer.id, page_size=10) \
        if allowed(current_user.role, WORK_ORDERS_VIEW) else None
    undeliverable = suppressions.standing(g.db, customer.company_id, customer.email) if customer.email else None
    return render_template("customers/detail.html", customer=customer, orders=orders,
                           portal_users=services.portal_users(g.db, customer.id), invite_form=PortalInviteForm(),
                           undeliverable=undeliverable, undeliverable_labels=suppressions.REASON_LABELS,
                           card=g.db.scalar(SavedCard.on_file(customer.id)), timezone=company_timezone(g.db).key)


@bp.route("/customers/<uuid:customer_id>/edit", methods=["GET", "POST"])
@requires(CUSTOMERS_EDIT)
def edit(customer_id: uuid.UUID):
    customer = _customer(customer_id)
    form = CustomerForm(obj=customer)
    if not form.validate_on_submit():
        return render_template("customers/form.html", form=form, customer=customer), \
            422 if form.is_submitted() else 200
    services.update_customer(g.db, customer, **{f: form[f].data for f in services.CUSTOMER_FIELDS})
    g.db.commit()
    flash("Changes saved.", "success")
    return redirect(url_for("customers.detail", customer_id=customer.id), code=303)


@bp.post("/customers/<uuid:customer_id>/archive")
@requires(CUSTOMERS_EDIT)
def archive(customer_id: uuid.UUID):
    """Take a customer off the active list (their records stay)."""
    customer = _customer(customer_id)
    services.archive_customer(g.db, customer)
    g.db.commit()
    flash(f"{customer.name} was archived. Find them under Show: Archived.", "success")
    return redirect(url_for("customers.detail", customer_id=customer.id), code=303)


@bp.post("/customers/<uuid:customer_id>/restore")
@requires(CUSTOMERS_EDIT)
def restore(customer_id: uuid.UUID):
    customer = _customer(customer_id)
    services.restore_customer(g.db, customer)
    g.db.commit()
    flash(f"{customer.name} is active again.", "success")
    return redirect(url_for("customers.detail", customer_id=customer.id), code=303)


@bp.get("/customers/<uuid:customer_id>/row")
@requires(CUSTOMERS_VIEW)
def row(customer_id: uuid.UUID):
    """A customer's row of the list (what an in-place edit returns to on cancel)."""
    return render_template("customers/_row.html", customer=_customer(customer_id))


@bp.get("/customers/<uuid:customer_id>/contact")
@requires(CUSTOMERS_EDIT)
def contact_form(customer_id: uuid.UUID):
    """The row with its phone and email as inputs; the full edit page without HTMX."""
    customer = _customer(customer_id)
    if not is_fragment():
        return redirect(url_for("customers.edit", customer_id=customer.id))
    return render_template("customers/_row_edit.html", customer=customer, form=ContactForm(obj=customer))


@bp.post("/customers/<uuid:customer_id>/contact")
@requires(CUSTOMERS_EDIT)
def save_contact(customer_id: uuid.UUID):
    """Save the phone and email edited in place; the row swaps back, or shows what is wrong."""
    customer = _customer(customer_id)
    form = ContactForm()
    if not form.validate_on_submit():
        return render_template("customers/_row_edit.html", customer=customer, form=form), 422
    services.update_customer(g.db, customer, fields=services.CONTACT_FIELDS,
                             **{f: form[f].data for f in services.CONTACT_FIELDS})
    g.db.commit()
    if not is_fragment():
        flash("Changes saved.", "success")
        return redirect(url_for("customers.index"), code=303)
    return render_template("customers/_row.html", customer=customer)


# --- service locations ----------------------------------------------------------------------------------

def _location(location_id: uuid.UUID) -> CustomerLocation:
    location = devices.get_location(g.db, location_id)
    if location is None:
        abort(404)
    return location


def _location_form(location: CustomerLocation | None = None) -> LocationForm:
    form = LocationForm(obj=location)
    form.district_id.choices = [("", "Not known yet")] + districts.choices(g.db)
    if location is not None and not form.is_submitted():
        form.district_id.data = str(location.district_id) if location.district_id else ""
    return form


def _location_values(form: LocationForm) -> dict:
    values = {field: form[field].data for field in services.LOCATION_FIELDS}
    values["district_id"] = uuid.UUID(values["district_id"]) if values["district_id"] else None
    return values


def _location_page(form: LocationForm, customer: Customer, location: CustomerLocation | None, status: int):
    return render_template("customers/location_form.html", form=form, customer=customer, location=location), status


@bp.route("/customers/<uuid:customer_id>/locations/new", methods=["GET", "POST"])
@requires(CUSTOMERS_EDIT)
def new_location(customer_id: uuid.UUID):
    """Add a service address; the same place entered again (in any spelling) is refused."""
    customer = _customer(customer_id)
    form = _location_form()
    if not form.validate_on_submit():
        return _location_page(form, customer, None, 422 if form.is_submitted() else 200)
    try:
        location = services.create_location(g.db, customer, **_location_values(form))
    except services.DuplicateLocation as duplicate:
        g.db.rollback()
        add_error(form.address_line1, str(duplicate))
        return _location_page(form, customer, None, 422)
    g.db.commit()
    flash("Service location added.", "success")
    return redirect(url_for("customers.location", location_id=location.id), code=303)


@bp.get("/locations/<uuid:location_id>")
@requires(DEVICES_VIEW)
def location(location_id: uuid.UUID):
    """A service location: where it is, how to get in, and its devices."""
    found = devices.location_with_devices(g.db, location_id, technician_user_id=own_work_of(current_user))
    if found is None:
        abort(404)
    return render_template("customers/location.html", location=found)


@bp.route("/locations/<uuid:location_id>/edit", methods=["GET", "POST"])
@requires(CUSTOMERS_EDIT)
def edit_location(location_id: uuid.UUID):
    found = _location(location_id)
    form = _location_form(found)
    if not form.validate_on_submit():
        return _location_page(form, found.customer, found, 422 if form.is_submitted() else 200)
    try:
        services.update_location(g.db, found, **_location_values(form))
    except services.DuplicateLocation as duplicate:
        g.db.rollback()
        add_error(form.address_line1, str(duplicate))
        return _location_page(form, services.get_customer(g.db, found.customer_id), found, 422)
    g.db.commit()
    flash("Changes saved.", "success")
    return redirect(url_for("customers.location", location_id=found.id), code=303)


@bp.post("/customers/<uuid:customer_id>/portal-users")
@requires(CUSTOMERS_EDIT)
@limiter.limit("30 per hour", key_func=company_key)
def invite_portal_user(customer_id: uuid.UUID):
    """Invite someone of the customer to the portal, as a portal customer (its invoices, certificates and requests)
    or as a requester (asking for service; the invoices only if ticked): they see this customer's records only."""
    customer = _customer(customer_id)
    form = PortalInviteForm()
    if not form.validate_on_submit():
        flash("Not sent. " + "; ".join(errors[0] for errors in form.errors.values()), "error")
        return redirect(url_for("customers.detail", customer_id=customer.id), code=303)
    try:
        team.invite(g.db, email=form.email.data, full_name=form.full_name.data, role=Role(form.access.data).value,
                    invited_by=current_user.user_id, inviter_name=current_user.full_name,
                    link_for=invitation_link, customer_id=customer.id,
                    may_see_invoices=form.access.data == Role.requester.value and form.may_see_invoices.data)
    except team.TeamError as error:
        g.db.rollback()
        flash(str(error), "error")
        return redirect(url_for("customers.detail", customer_id=customer.id), code=303)
    g.db.commit()
    flash(f"Invitation to the portal sent to {form.email.data.strip().lower()}.", "success")
    return redirect(url_for("customers.detail", customer_id=customer.id), code=303)
