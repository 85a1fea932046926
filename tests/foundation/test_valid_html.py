"""The pages people use every day are valid HTML: the Nu validator (vnu-jar, on the machine's Java) finds no error
on them but htmx's hx- attributes, which it does not know."""
import datetime as dt

import sqlalchemy as sa

from flowtrack.booking import services as booking
from flowtrack.models.customers import Customer
from flowtrack.quotes import services as quotes
from tests.booking.factories import open_window, pending_booking
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.devices.factories import dataplate_read
from tests.district_portal.factories import DistrictFactory
from tests.field_tests.factories import voice_note
from tests.hints.factories import recorded_on
from tests.inventory.factories import Stock
from tests.invoices.factories import card_on_file, printed_invoice
from tests.notifications.bounces import bounced
from tests.quotes.factories import draft_quote, sent_quote, signed_quote
from tests.scheduling.factories import planner  # noqa: F401 (the fixture)
from tests.service_requests.factories import asked, portal_customer
from tests.submissions.factories import filed_test, submission_of
from tests.valid_html import nu_validator_errors


def test_the_pages_of_every_role_are_valid_html(app, factory, login, acme, records, planner, tmp_path):  # noqa: F811
    location = records.location(acme)
    device = records.device(acme, location, device_type="RP")
    order = planner.work_order(acme)
    job = planner.job(acme)
    invoice = printed_invoice(app, acme)
    bounced_customer = records.customer(acme, email="gone@example.com")
    bounced(app, acme, bounced_customer.email)  # its page and the list of undeliverable addresses say so
    customer, portal_member, [(place, asked_about), _] = portal_customer(app, factory, acme)
    request = asked(app, factory, acme, member=portal_member, customer=customer, place=place,
                    devices=[asked_about])
    stock = Stock(app)
    part, van = stock.part(acme), stock.place(acme, van_of=acme.members["technician"])
    stock.receive(acme, part, stock.place(acme), 3)
    stock.receive(acme, part, van, 1)
    with app.extensions["flowtrack.db"].service() as session:  # a quote is emailed
        session.execute(sa.text("UPDATE customers SET email = 'ap@harbordairy.example' WHERE id = :c"),
                        {"c": customer.id})
        session.commit()
    quote, _ = sent_quote(app, acme, location=place)
    with factory.db.service() as session:  # a card on file, autopay off: the page offers the consent to tick
        session.info["company_id"] = acme.id
        card_on_file(session, customer.id, autopay=False)
        session.commit()
    draft = draft_quote(app, acme, location)
    signed = signed_quote(app, acme)  # approved with a drawn signature: on the dashboard, and its page shows it
    with records.session(acme) as session:  # customers are asked to sign by hand: the portal's quote has a pad
        quotes.save_settings(session, signature_required=True)
    with app.extensions["flowtrack.db"].service() as session:  # the test form, with the van's parts offered
        on_the_job = session.scalar(sa.text("SELECT device_id FROM work_order_devices WHERE work_order_id = :o"),
                                    {"o": job.work_order_id})
    # Online booking: a booking waiting for the office, and the portal customer's assemblies coming due, one
    # booked (waiting too) and one to book in the windows open.
    pending_booking(app, factory, acme)
    window, _ = open_window(app, acme), open_window(app, acme, part="afternoon")
    soon = dt.date.today() + dt.timedelta(days=10)
    waiting, _ = records.device(acme, place, install_date=soon), records.device(acme, place, install_date=soon)
    with records.session(acme) as session:
        booking.book(session, session.get(Customer, customer.id), portal_member.user_id, window_id=window.id,
                     location_id=place.id, device_ids=[waiting.id], today=dt.date.today())
    # Reports to districts: one held back, one to submit on a portal, one waiting for the district's answer.
    held, _ = filed_test(app, factory, acme, submission_method="district_view", required_fields=["meter_number"])
    filed_test(app, factory, acme, submission_method="district_portal", deadline_days=5,
               portal_url="https://backflow.water.example/")
    districts = DistrictFactory(app, factory)
    area = districts.area(acme)
    with factory.db.service() as session:
        session.execute(sa.text("UPDATE districts SET submission_method = 'district_view' WHERE id = :d"),
                        {"d": area.district.id})
        session.commit()
    districts.tested(acme, districts.device(area), printed=True)
    # A voice note's remarks waiting on its test, and a dataplate's proposal on the new device form (its serial taken).
    voiced = voice_note(app, acme, transcript="check valve one closed tight")
    plate = dataplate_read(app, acme, location, proposal={"manufacturer": "Watts", "model": "909", "size": "3/4",
                                                          "serial": device.serial})
    # Hints (an assembly that keeps failing) and a day on a map, with its route to order.
    failing = records.device(acme, location, device_type="DC")
    for back in (90, 30):
        recorded_on(app, acme, failing, dt.date.today() - dt.timedelta(days=back))
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    for east in (0.0, 0.05, 0.02):
        mapped = records.location(acme, latitude=44.05, longitude=-123.09 + east)
        planner.job(acme, day=tomorrow, starts=dt.time(7), ends=dt.time(17),
                    order=planner.work_order(acme, location=mapped))
    day_url = f"/schedule/day/{acme.members['technician'].user_id}/{tomorrow.isoformat()}"
    pages = {
        "district": ["/district/answers"],
        "manager": ["/submissions/", f"/submissions/districts/{submission_of(app, held.id).district_id}",
                    f"/tests/{held.id}", f"/districts/{area.district.id}/edit", f"/tests/{voiced.test_record_id}",
                    f"/locations/{location.id}/devices/new?dataplate={plate.id}", "/booking/", "/dashboard/",
                    "/customers/", f"/customers/{location.customer_id}",
                    f"/locations/{location.id}",
                   f"/devices/{device.id}", "/due/", "/due/needs-repair", "/work-orders/", f"/work-orders/{order.id}",
                   f"/locations/{location.id}/work-orders/new", "/schedule/", "/invoices/", f"/invoices/{invoice.id}",
                   "/invoices/prices", "/invoices/aging", "/reminders/", "/email/undeliverable",
                   f"/customers/{bounced_customer.id}", "/tests/", "/gauges/", "/districts/", "/import/",
                   "/requests/", f"/requests/{request.id}", "/quotes/", f"/quotes/{quote.id}",
                   f"/quotes/{draft.id}", f"/quotes/{signed.id}", f"/quotes/new/{location.id}?device={device.id}",
                   "/hints/", f"/devices/{failing.id}", day_url, f"{day_url}/route"],
        "company_admin": ["/settings/", "/team/", "/team/roles", "/billing/", "/account/export/", "/audit/",
                          "/account/sessions",
                          "/security/", "/security/privacy", "/security/subprocessors"],
        "inventory_manager": ["/inventory/", f"/inventory/parts/{part.id}", "/inventory/parts/new",
                              f"/inventory/parts/{part.id}/edit", "/inventory/places", "/inventory/receive",
                              "/inventory/transfer", "/inventory/count", "/inventory/adjust", "/inventory/reorder"],
        "technician": ["/my-day/", f"/my-day/?date={tomorrow.isoformat()}", f"/jobs/{job.id}", "/inventory/van",
                       f"/devices/{on_the_job}/tests/new"],
        "portal": ["/portal/", "/portal/book", "/portal/requests/", "/portal/requests/new",
                   f"/portal/quotes/{quote.id}", "/portal/card/"],
    }
    files = []
    for role, urls in pages.items():
        if role in ("portal", "district"):
            browser = app.test_client()
            browser.sign_in_as(portal_member if role == "portal" else area.admin)
        else:
            browser = login(acme, role)
        for url in urls:
            response = browser.get(url)
            assert response.status_code == 200, (role, url)
            files.append(tmp_path / f"{len(files):02d}-{role}{url.replace('/', '_')}.html")
            files[-1].write_text(response.text)
    assert nu_validator_errors(files) == []
