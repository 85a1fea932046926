"""Demo data: two companies with one person of every role, and a few districts, customers, service locations,
devices, test kits, booked work orders, a price list, an invoice, parts in a warehouse and the technician's van,
submitted tests with their printed reports, and next week's windows for customers to book online (one booked by the
portal customer) each. Refused in production."""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import sqlalchemy as sa
from PIL import Image, ImageDraw

from flowtrack.audit import services as audit
from flowtrack.auth.services import add_member
from flowtrack.booking import services as online_booking
from flowtrack.companies import services as companies
from flowtrack.companies.services import create_company
from flowtrack.core.db import Database, bind_company
from flowtrack.core.permissions import Role
from flowtrack.core.signatures import signature_png
from flowtrack.core.storage import FileStorage
from flowtrack.customers import services as customers
from flowtrack.devices import services as devices
from flowtrack.districts import services as districts
from flowtrack.field_tests import report, voice_notes
from flowtrack.field_tests import services as testing
from flowtrack.field_tests.tasks import print_report
from flowtrack.inventory import services as inventory
from flowtrack.invoices import autopay
from flowtrack.invoices import services as invoices
from flowtrack.invoices import tasks as invoice_tasks
from flowtrack.models.accounts import Profile, User
from flowtrack.models.autopay import AutopayCharge, ChargeStatus, SavedCard
from flowtrack.models.booking import DayPart
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer, CustomerLocation, Device, Gauge
from flowtrack.models.field_tests import TestRecord
from flowtrack.models.inventory import Part
from flowtrack.models.vendors import Vendor
from flowtrack.notifications.links import external_url
from flowtrack.quotes import services as quotes
from flowtrack.schedule import services as schedule
from flowtrack.service_requests import services as service_requests
from flowtrack.submissions import assemblies
from flowtrack.vendors import services as vendors
from flowtrack.work_orders import bookings, pricing
from flowtrack.work_orders import services as work_orders

DEMO_PASSWORD = "flowtrack-demo"
DEMO_COMPANIES = (("Acme Backflow", "acme.test", "America/Los_Angeles"),
                  ("Bravo Testing", "bravo.test", "America/Denver"))
# `flowtrack dev --regions us,ca`: a company on the Enterprise plan whose data is kept in Canada (docs/regions.md).
CANADIAN_DEMO = (("Érable Backflow", "erable.test", "America/Toronto"),)
DEMO_PEOPLE = (
    ("admin", Role.company_admin, "Alex Admin"),
    ("office", Role.manager, "Olivia Office"),
    ("scheduler", Role.scheduler, "Sam Scheduler"),
    ("coordinator", Role.coordinator, "Cora Coordinator"),
    ("inventory", Role.inventory_manager, "Ivan Inventory"),
    ("tech", Role.technician, "Theo Tech"),
    ("vendor", Role.vendor, "Val Vendor"),
    ("auditor", Role.auditor, "Audrey Auditor"),
    ("customer", Role.customer, "Casey Customer"),
    ("requester", Role.requester, "Riley Requester"),
    ("district", Role.district_admin, "Dana District"),
)


def demo_logins(companies: tuple = DEMO_COMPANIES) -> list[str]:
    return [f"{person}@{domain}" for _, domain, _ in companies for person, _, _ in DEMO_PEOPLE]


def seed_demo(db: Database, *, production: bool, storage: FileStorage, companies: tuple = DEMO_COMPANIES,
              plan: str = "professional") -> list[Company]:
    """Create the demo companies that do not exist yet (idempotent); their files (signatures, report PDFs) go
    into the file store given. `db` and `storage` are one region's; the caller runs this in that region."""
    if production:
        raise RuntimeError("demo data is refused in production")
    created = []
    with db.service() as session:
        for name, domain, timezone in companies:
            exists = session.scalar(sa.select(User.id).where(User.email == f"admin@{domain}"))
            if exists:
                continue
            company = create_company(session, name, timezone=timezone, plan=plan)
            for person, role, full_name in DEMO_PEOPLE:
                extra = {}
                if role is Role.technician:
                    extra = {"certification_number": f"BAT-{domain[:2].upper()}-1042",
                             "certification_expires_on": dt.date.today() + dt.timedelta(days=400)}
                if role is Role.vendor:
                    vendor = Vendor(company_id=company.id, name=DEMO_VENDOR, contact_email="dispatch@cascade.example",
                                    phone="541-555-0199")
                    session.add(vendor)
                    session.flush()
                    extra = {"vendor_id": vendor.id, "certification_number": f"BAT-{domain[:2].upper()}-2210",
                             "certification_expires_on": dt.date.today() + dt.timedelta(days=300)}
                add_member(session, company.id, email=f"{person}@{domain}", password=DEMO_PASSWORD, role=role.value,
                           full_name=full_name, **extra)
            created.append((company, domain))
        session.commit()
    for company, domain in created:
        seed_records(db, company, storage)
        seed_tests(db, company, storage)
        link_portal_user(db, company, f"customer@{domain}")
        link_portal_user(db, company, f"requester@{domain}")
        seed_service_request(db, company, f"customer@{domain}")
        seed_requested_test(db, company, f"requester@{domain}", storage)
        seed_vendor_work(db, company)
        seed_quote(db, company, storage)
        seed_online_booking(db, company, f"customer@{domain}")
        seed_portal_filing(db, company, storage)
        seed_route_and_hints(db, company, storage)
    return [company for company, _ in created]


# (customer, phone, email,
#  [(street, city, postal code, district index, [(type, size, serial suffix, tested days ago)])])
DEMO_CUSTOMERS = (
    ("Harbor View Apartments", "541-555-0101", "manager@harborview.example", [
        ("123 Main Street", "Eugene", "97401", 0, [("RP", "2", "1001", 200), ("DC", "1", "1002", 340),
                                                   ("DC", "3/4", "1004", 350)]),
        ("125 Main Street", "Eugene", "97401", 0, [("RPDA", "4", "1003", 400)]),
    ]),
    ("Maple Street Dental", "541-555-0102", "office@mapledental.example", [
        ("77 Maple Avenue, Suite 2", "Springfield", "97477", 1, [("PVB", "3/4", "2001", 30)]),
    ]),
    ("Riverbend Golf Club", "541-555-0103", None, [
        ("4000 Riverbend Drive", "Springfield", "97477", 1, [("DCDA", "6", "3001", 380), ("AVB", "1", "3002", None)]),
    ]),
    ("Oakwood Elementary School", "541-555-0104", "facilities@oakwood.example", [
        ("900 Oak Street", "Eugene", "97402", 0, [("RP", "1-1/2", "4001", 100)]),
    ]),
)


# Where the demo's places are (the office typed them; a test from a phone would set them too). Riverbend Golf Club has
# none yet: the day's map lists it beside the map.
DEMO_POSITIONS = {
    "123 Main Street": (44.0521, -123.0868), "125 Main Street": (44.0524, -123.0861),
    "77 Maple Avenue, Suite 2": (44.0462, -123.0220), "900 Oak Street": (44.0415, -123.1105),
}


def seed_records(db: Database, company: Company, storage: FileStorage) -> None:
    """A working office's records for one demo company, made through the services (so they are audited)."""
    today = dt.date.today()
    prefix = company.name[:2].upper()
    with db.service() as session:
        bind_company(session, company.id)
        water = [
            districts.create_district(session, name="Eugene Water & Electric Board",
                                      contact_name="Cross-connection desk", report_email="backflow@eweb.example",
                                      submission_method="email", deadline_days=5, early_window_days=30),
            districts.create_district(session, name="Springfield Utility Board", report_email="reports@sub.example",
                                      due_anchor="fixed_date", fixed_due_month=6, fixed_due_day=30,
                                      submission_method="district_portal", portal_url="https://backflow.sub.example/",
                                      deadline_days=10, fee_cents=495, fee_passed_on=True,
                                      required_fields=["water_account_number"]),
        ]
        # The demo district admin sees the first district's tests.
        session.execute(sa.update(Profile).where(Profile.company_id == company.id,
                                                 Profile.role == Role.district_admin.value)
                        .values(district_id=water[0].id))
        for name, phone, email, places in DEMO_CUSTOMERS:
            customer = customers.create_customer(session, name=name, phone=phone, email=email)
            for street, city, postal_code, district, assemblies in places:
                position = DEMO_POSITIONS.get(street)
                location = customers.create_location(session, customer, address_line1=street, city=city, state="OR",
                                                     postal_code=postal_code, district_id=water[district].id,
                                                     **({"latitude": position[0], "longitude": position[1]}
                                                        if position else {}))
                for device_type, size, serial, tested_days_ago in assemblies:
                    devices.create_device(
                        session, location, device_type=device_type, size=size, manufacturer="Watts",
                        serial=f"{prefix}-{serial}", install_date=today - dt.timedelta(days=2000),
                        last_test_on=today - dt.timedelta(days=tested_days_ago) if tested_days_ago else None)
        for serial, calibrated_days_ago in (("K-100", 60), ("K-200", 380)):
            devices.create_gauge(session, make="Midwest", model="845", serial=f"{prefix}-{serial}",
                                 last_calibrated_on=today - dt.timedelta(days=calibrated_days_ago),
                                 calibration_due_on=today - dt.timedelta(days=calibrated_days_ago - 365))
        seed_district_list(session, water[1], prefix)
        seed_price_list(session)
        seed_schedule(session, prefix)
        seed_billing(session, storage)
        seed_inventory(session)
        session.commit()


def seed_district_list(session, district, prefix: str) -> None:
    """Springfield's own list of assemblies, as the district gives it out: our serials and addresses typed its way,
    with the water account numbers it requires; the irrigation AVB at the golf club is missing from it, so its
    report would be held back until the district adds it."""
    listed = assemblies.read_list(
        f"Assembly Serial No.,Service Address,Water Account,Meter\n"
        f"{prefix} 2001,\"77 MAPLE AVE STE 2, SPRINGFIELD OR 97477\",SUB-40112,M-88213\n"
        f"{prefix}3001,4000 Riverbend Dr,SUB-40877,M-90114\n"
        f"WK-55120,18 Mill St,SUB-41002,\n".encode())
    assemblies.import_list(session, district, listed, assemblies.recognised(listed.header), "sub-assemblies.csv")


def seed_schedule(session, prefix: str) -> None:
    """Two overdue sites booked for the technician (today and tomorrow), so the board and "My day" have work;
    the devices due soon stay on the due list to plan."""
    today = companies.company_today(session)
    zone = companies.company_timezone(session)
    technician = bookings.technicians(session)[0]
    for serials, day, starts in (((f"{prefix}-1003",), today, dt.time(9)),
                                 ((f"{prefix}-3001", f"{prefix}-3002"), today + dt.timedelta(days=1), dt.time(13))):
        found = list(session.scalars(sa.select(Device).where(Device.serial.in_(serials))))
        # Its price lines come from the price list: each device's test fee and the trip charge.
        order = work_orders.create_work_order(session, session.get(CustomerLocation, found[0].location_id),
                                              [d.id for d in found], created_by=None)
        ends = (dt.datetime.combine(day, starts) + dt.timedelta(hours=2)).time()
        schedule.book(session, order, technician.user_id, schedule.Window.local(day, starts, ends, zone), today=today)


# (assembly type, test fee in cents)
DEMO_TEST_FEES = (("RP", 9500), ("RPDA", 12500), ("DC", 7500), ("DCDA", 11000), ("PVB", 6500), ("SVB", 6500),
                  ("AVB", 5500))


def seed_price_list(session) -> None:
    """The company's prices and terms, before any work is planned (a work order's lines come from them)."""
    for device_type, cents in DEMO_TEST_FEES:
        invoices.set_price(session, kind="test", device_type=device_type, unit_price_cents=cents)
    for repair, cents in (("replaced disc", 3250), ("cleaned seat", 1500), ("replaced spring", 2800)):
        invoices.set_price(session, kind="repair", part=repair, unit_price_cents=cents)
    invoices.set_price(session, kind="trip", unit_price_cents=4500, taxable=False)
    invoices.save_settings(session, tax_rate_bp=0, payment_terms_days=30)


def seed_billing(session, storage: FileStorage) -> None:
    """Two sent invoices with their PDFs: one of this week, whose autopay charge the card declined, and one 15 days
    overdue for the aging and the dashboard to show."""
    today = companies.company_today(session)
    for name, issued in (("Maple Street Dental", today), ("Oakwood Elementary School", today - dt.timedelta(days=45))):
        customer = session.scalar(sa.select(Customer).where(Customer.name == name))
        invoice = invoices.blank_invoice(session, customer)
        invoices.add_line(session, invoice, "Backflow test, PVB 3/4″", 1, 6500, True)
        invoices.add_line(session, invoice, "Trip charge", 1, 4500, False)
        invoices.send(session, invoice, issued)
        invoice_tasks.print_and_mail(session, invoice, storage)
        if issued == today:
            seed_declined_autopay(session, invoice, today)


def seed_declined_autopay(session, invoice, today: dt.date) -> None:
    """The dental office saved a card with autopay on; the bank declined this week's charge, to be tried again in
    three days. The demo has no Stripe account, so the card is kept as the portal would keep Stripe's answer."""
    card = SavedCard(company_id=invoice.company_id, customer_id=invoice.customer_id, stripe_customer_id="cus_demo",
                     payment_method_id="pm_demo_card", brand="visa", last4="0341", exp_month=8, exp_year=today.year + 2)
    session.add(card)
    session.flush()
    autopay.turn_on_autopay(session, card, autopay.consent_text(session.get(Company, invoice.company_id), card),
                            user_id=None, ip="198.51.100.23")
    session.add(AutopayCharge(company_id=invoice.company_id, invoice_id=invoice.id, card_id=card.id, attempt=1,
                              amount_cents=invoice.balance_cents, status=ChargeStatus.declined.value,
                              failure="Your card has insufficient funds.",
                              next_attempt_on=today + dt.timedelta(days=autopay.RETRY_GAPS[0])))


# (SKU, name, kind, cost and price in cents, assembly types it fits, in the warehouse, in the van, low-stock level in
# the warehouse)
DEMO_PARTS = (
    ("W-009-RK", "Watts 009 total rubber kit", "repair_kit", 3850, 7900, ["RP"], 6, 2, 2),
    ("W-007-SEAT", "Watts 007 check seat", "seat", 1400, 3200, ["DC"], 8, 2, 3),
    ("FEB-765-DISC", "Febco 765 check disc", "disc", 650, 2200, ["PVB"], 10, 3, 4),
    ("FEB-850-RK", "Febco 850 first check rubber kit", "repair_kit", 2900, 6400, ["DC", "DCDA"], 5, 1, 2),
    ("WIL-975XL-RV", "Wilkins 975XL relief valve rubber kit", "relief_valve", 3300, 7200, ["RP", "RPDA"], 4, 1, 2),
    ("ZRN-350-SPR", "Zurn 350 check spring", "spring", 900, 2600, ["DC", "DCDA"], 2, 1, 4),
    ("AMES-4000-MOD", "Ames 4000SS check module", "module", 11500, 22500, ["RP", "RPDA"], 0, 0, 1),
    ("UNI-ORING", "Universal O-ring assortment", "other", 1200, 2400, [], 12, 4, 3),
)


def seed_inventory(session) -> None:
    """A warehouse and the technician's van, stocked through the inventory's services: the Zurn spring is low in
    the warehouse, and the Ames module is out (received, then sent back)."""
    warehouse = inventory.create_place(session, name="Main warehouse", kind="warehouse")
    van = inventory.van_for(session, bookings.technicians(session)[0].user_id)
    for sku, name, kind, cost, price, fits, stored, carried, low in DEMO_PARTS:
        part = inventory.create_part(session, sku=sku, name=name, kind=kind, unit_cost_cents=cost,
                                     unit_price_cents=price, device_types=fits)
        received = stored + carried or 2
        inventory.receive(session, part, warehouse, received, by=None, reason="Opening stock")
        if carried:
            inventory.transfer(session, part, warehouse, van, carried, by=None)
        if not stored + carried:
            inventory.adjust(session, part, warehouse, -received, by=None,
                             reason="Returned to the supplier: wrong size")
        inventory.set_threshold(session, part, warehouse, low)


RP_PASSING = {"check1_psid": "6.2", "relief_opened_psid": "2.8", "check2_psid": "1.6", "check2_closed_tight": "yes",
              "shutoff2_held": "yes"}
# (serial suffix, readings, repairs, retest readings, parts fitted from the van by SKU): a pass, a fail, and a
# repair with a passing retest.
DEMO_TESTS = (
    ("1001", RP_PASSING, [], {}, ()),
    ("1002", {"check1_psid": "0.6", "check2_psid": "1.8"}, [], {}, ()),
    ("4001", {**RP_PASSING, "check1_psid": "4.1"}, ["replaced disc", "cleaned seat"], RP_PASSING, ("W-009-RK",)),
)
# The portal's demo customer: the one with the passing and the failing test.
PORTAL_CUSTOMER = "Harbor View Apartments"


def seed_tests(db: Database, company: Company, storage: FileStorage) -> None:
    """Submitted tests through the technician's service, and their reports printed as the worker prints them
    (so the test pages, the portal's certificates and the district's mail have something)."""
    prefix = company.name[:2].upper()
    with db.service() as session:
        bind_company(session, company.id)
        technician = bookings.technicians(session)[0]
        kit = session.scalar(sa.select(Gauge).where(Gauge.serial == f"{prefix}-K-100"))
        recorded = _earlier_failures(session, prefix, technician.user_id, kit, storage)
        first_of_the_week = len(recorded)
        for serial, readings, repairs, retest, fitted in DEMO_TESTS:
            device = session.scalar(sa.select(Device).where(Device.serial == f"{prefix}-{serial}"))
            parts = {row: (str(session.scalar(sa.select(Part.id).where(Part.sku == sku))), "1")
                     for row, sku in enumerate(fitted, start=1)}
            submission = testing.Submission(test_type="annual", gauge_id=kit.id, line_pressure_psi=72,
                                            shutoff1_tight=True, readings=readings, repairs=repairs,
                                            retest_readings=retest, technician_signature=report.sample_signature(),
                                            parts=parts)
            recorded.append(testing.record_test(session, device, technician.user_id, submission, storage=storage))
        session.commit()
        for record in recorded:
            print_report(session, record, storage=storage)
        seed_voice_note(session, recorded[first_of_the_week], technician.user_id, storage)


def seed_voice_note(session, record, technician_user_id, storage: FileStorage) -> None:
    """The passing test came with a voice note (spoken by Flite, kept in the package), written out by the speech
    model as the worker does: its remarks wait for the office to accept them."""
    recording = (Path(__file__).parent / "demo" / "voice-note.webm").read_bytes()
    note = voice_notes.add_voice_note(session, storage, record, technician_user_id, recording, "audio/webm")
    session.commit()
    voice_notes.transcribe_note(session, storage, note)


# Springfield's assemblies tested this week: (serial suffix, the place's water account, readings).
DEMO_PORTAL_TESTS = (
    ("2001", "SUB-20417", {"air_inlet_opened_psid": "1.6", "air_inlet_fully_open": "yes", "check_psid": "1.9"}),
    ("3001", "SUB-31188", {"check1_psid": "2.2", "check2_psid": "1.5"}),
)


def seed_portal_filing(db: Database, company: Company, storage: FileStorage) -> None:
    """Two reports waiting to be filed on the Springfield Utility Board's own portal (which wants the water
    account on each), so the office has ready-to-copy sheets and a batch file to make."""
    prefix = company.name[:2].upper()
    with db.service() as session:
        bind_company(session, company.id)
        technician = bookings.technicians(session)[0]
        kit = session.scalar(sa.select(Gauge).where(Gauge.serial == f"{prefix}-K-100"))
        recorded = []
        for serial, account, readings in DEMO_PORTAL_TESTS:
            device = session.scalar(sa.select(Device).where(Device.serial == f"{prefix}-{serial}"))
            session.get(CustomerLocation, device.location_id).water_account_number = account
            submission = testing.Submission(test_type="annual", gauge_id=kit.id, line_pressure_psi=68,
                                            shutoff1_tight=True, readings=readings,
                                            technician_signature=report.sample_signature())
            recorded.append(testing.record_test(session, device, technician.user_id, submission, storage=storage))
        session.commit()
        for record in recorded:
            print_report(session, record, storage=storage)


# The RP at 123 Main Street failed its tests of 13 and 6 months ago before it passed this one: the office's hints
# suggest replacing it (two failures in its last three tests).
EARLIER_FAILURES = ("1001", (395, 190), {**RP_PASSING, "check2_psid": "0.7"})


def _earlier_failures(session, prefix: str, technician_id, kit, storage: FileStorage) -> list[TestRecord]:
    serial, days_ago, readings = EARLIER_FAILURES
    device = session.scalar(sa.select(Device).where(Device.serial == f"{prefix}-{serial}"))
    recorded = []
    for days in days_ago:
        record = testing.record_test(session, device, technician_id, testing.Submission(
            test_type="annual", gauge_id=kit.id, line_pressure_psi=70, shutoff1_tight=True, readings=readings,
            technician_signature=report.sample_signature()), storage=storage)
        # Recorded as if that day: the service dates a test when it is submitted.
        record.tested_at -= dt.timedelta(days=days)
        recorded.append(record)
    return recorded


def seed_service_request(db: Database, company: Company, email: str) -> None:
    """The portal customer asked for a repair this week; the office has not answered yet."""
    with db.service() as session:
        bind_company(session, company.id)
        user = session.scalar(sa.select(User).where(User.email == email))
        customer = session.scalar(sa.select(Customer).where(Customer.name == PORTAL_CUSTOMER))
        place = session.scalars(sa.select(CustomerLocation).where(CustomerLocation.customer_id == customer.id)
                                .order_by(CustomerLocation.address_line1)).first()
        service_requests.ask(session, customer, user.id, location_id=place.id, kind="repair", device_ids=[],
                             notes="Water is dripping from the assembly by the boiler room door. Gate code 2468.")
        session.commit()


def seed_requested_test(db: Database, company: Company, email: str, storage: FileStorage) -> None:
    """The property manager (the requester) asked for the yearly test at the second building, with a photo of the
    assembly; the office has not answered yet."""
    with db.service() as session:
        bind_company(session, company.id)
        user = session.scalar(sa.select(User).where(User.email == email))
        customer = session.scalar(sa.select(Customer).where(Customer.name == PORTAL_CUSTOMER))
        place = session.scalars(sa.select(CustomerLocation).where(CustomerLocation.customer_id == customer.id)
                                .order_by(CustomerLocation.address_line1.desc())).first()
        service_requests.ask(session, customer, user.id, location_id=place.id, kind="test", device_ids=[],
                             notes="The test tag on the assembly in the garage says it is due. Any weekday morning.",
                             pictures=[_assembly_picture()], storage=storage)
        session.commit()


def _assembly_picture() -> bytes:
    """A drawn stand-in for a phone's photo of an assembly: a pipe with two valves."""
    image = Image.new("RGB", (1200, 900), (214, 220, 226))
    draw = ImageDraw.Draw(image)
    draw.rectangle([(0, 400), (1200, 500)], fill=(70, 110, 150))
    for left in (300, 750):
        draw.rectangle([(left, 330), (left + 150, 570)], fill=(200, 60, 40))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


DEMO_VENDOR = "Cascade Backflow Services"


def seed_vendor_work(db: Database, company: Company) -> None:
    """The school's assembly is subcontracted to the demo vendor, whose tester has a kit of their own."""
    today = dt.date.today()
    with db.service() as session:
        bind_company(session, company.id)
        vendor = session.scalar(sa.select(Vendor).where(Vendor.name == DEMO_VENDOR))
        devices.create_gauge(session, make="Watts", model="TK-DP", serial=f"{company.name[:2].upper()}-CB-7",
                             last_calibrated_on=today - dt.timedelta(days=90),
                             calibration_due_on=today + dt.timedelta(days=275), vendor_id=vendor.id)
        school = session.scalar(sa.select(CustomerLocation).join(Customer)
                                .where(Customer.name == "Oakwood Elementary School"))
        order = work_orders.create_work_order(
            session, school, [device.id for device in school.devices], created_by=None,
            notes="Subcontracted: the district asked for a second test after the repair, and ours are booked solid.")
        vendors.assign(session, order, vendor)
        session.commit()


def seed_quote(db: Database, company: Company, storage: FileStorage) -> None:
    """The office quoted the repair of the portal customer's failed assembly and sent it: the portal (and the
    emailed link) show it, to approve or decline, with an optional item to pick, and a signature pad (the company
    asks customers to sign by hand). An earlier quote, for the customer's other place, was approved and signed: the
    dashboard lists the answer, its page shows the signature, and its work order waits to be booked."""
    prefix = company.name[:2].upper()
    with db.service() as session:
        bind_company(session, company.id)
        device = session.scalar(sa.select(Device).where(Device.serial == f"{prefix}-1002"))
        failed = session.scalar(sa.select(TestRecord).where(TestRecord.device_id == device.id)
                                .order_by(TestRecord.tested_at.desc()))
        office = session.scalar(sa.select(User).join(Profile, Profile.user_id == User.id)
                                .where(Profile.role == Role.manager.value))
        quote = quotes.new_quote(session, device.location, expires_on=companies.company_today(session)
                                 + dt.timedelta(days=quotes.DEFAULT_VALID_DAYS),
                                 notes="We carry the parts; the repair takes about an hour, then we test again.",
                                 created_by=office.id, device=device, test_record=failed)
        for item in sorted(pricing.price_list(session), key=lambda item: item.part):
            if item.kind == "repair" and item.part in ("replaced disc", "cleaned seat"):
                quotes.add_line(session, quote, description=quotes.price_label(item), quantity=1,
                                unit_price_cents=item.unit_price_cents, taxable=item.taxable)
        test_fee = pricing.PriceBook.of(session).test_fee(device.device_type, device.size)
        quotes.add_line(session, quote, description=f"Test after the repair, serial {device.serial}", quantity=1,
                        unit_price_cents=test_fee.unit_price_cents if test_fee else 7500)
        quotes.add_line(session, quote, description="Insulated enclosure for the assembly", quantity=1,
                        unit_price_cents=18900, optional=True)
        quotes.send(session, quote, companies.company_today(session),
                    lambda token: external_url("customer_quotes.link_page", token=token))
        quotes.save_settings(session, signature_required=True)
        other = session.scalar(sa.select(CustomerLocation).where(
            CustomerLocation.customer_id == device.location.customer_id, CustomerLocation.id != device.location_id))
        signed = quotes.new_quote(session, other, expires_on=companies.company_today(session) + dt.timedelta(days=14),
                                  notes="Before the first frost.", created_by=office.id)
        quotes.add_line(session, signed, description="Insulated enclosure for the assembly", quantity=1,
                        unit_price_cents=18900)
        quotes.add_line(session, signed, description="Heat tape, fitted", quantity=1, unit_price_cents=6500)
        quotes.send(session, signed, companies.company_today(session),
                    lambda token: external_url("customer_quotes.link_page", token=token))
        quotes.approve(session, signed.id, version=1, chosen=set(), name="Dana Whitfield", ip=None,
                       today=companies.company_today(session), storage=storage,
                       signature=signature_png(report.sample_signature(), missing="unsigned"))
        session.commit()


def seed_online_booking(db: Database, company: Company, email: str) -> None:
    """Next week's mornings and afternoons open for customers to book, two visits each, and the portal customer
    booked Tuesday morning for its assembly coming due: on the board at Acme, waiting for the office at Bravo (which
    confirms bookings)."""
    prefix = company.name[:2].upper()
    with db.service() as session:
        bind_company(session, company.id)
        today = companies.company_today(session)
        monday = today + dt.timedelta(days=7 - today.weekday())
        technician = bookings.technicians(session)[0]
        if company.name.startswith("Bravo"):
            online_booking.save_confirmation_setting(session, need_confirmation=True)
        opened = online_booking.open_windows(
            session, technician_id=technician.user_id, first=monday, last=monday + dt.timedelta(days=4),
            weekdays={0, 1, 2, 3, 4}, parts=[DayPart.morning, DayPart.afternoon], capacity=2, area=[],
            opened_by=None, today=today)
        user = session.scalar(sa.select(User).where(User.email == email))
        device = session.scalar(sa.select(Device).where(Device.serial == f"{prefix}-1004"))
        tuesday_morning = next(w for w in opened.windows if w.day.weekday() == 1 and w.part == DayPart.morning.value)
        online_booking.book(session, session.get(Customer, user.profile.customer_id), user.id,
                            window_id=tuesday_morning.id, location_id=device.location_id, device_ids=[device.id],
                            today=today)
        session.commit()


# Tomorrow morning's repair visits, in the order the office booked them (Oak Street lies west of Main Street and
# Maple Avenue east: "Order the route" proposes Main, Oak, Maple and saves some 3 km).
DEMO_MORNING = ("123 Main Street", "77 Maple Avenue, Suite 2", "900 Oak Street")


def seed_route_and_hints(db: Database, company: Company, storage: FileStorage) -> None:
    """Tomorrow's route on the map (three places with a position, the golf club without one) in an order "Order the
    route" shortens; the visit at 123 Main Street, where the failed DC falls due and is not on it (a hint); and an
    invoice of Harbor View Apartments 70 days overdue while it asks for service (a hint on its requests)."""
    with db.service() as session:
        bind_company(session, company.id)
        today = companies.company_today(session)
        zone = companies.company_timezone(session)
        tomorrow = today + dt.timedelta(days=1)
        technician = bookings.technicians(session)[0]
        for street in DEMO_MORNING:
            place = session.scalar(sa.select(CustomerLocation).where(CustomerLocation.address_line1 == street))
            order = work_orders.create_work_order(session, place, [], created_by=None, kind="repair",
                                                  notes="Look at the assembly the customer says drips.")
            schedule.book(session, order, technician.user_id,
                          schedule.Window.local(tomorrow, dt.time(8), dt.time(12), zone), today=today)
        harbor = session.scalar(sa.select(Customer).where(Customer.name == PORTAL_CUSTOMER))
        invoice = invoices.blank_invoice(session, harbor)
        invoices.add_line(session, invoice, "Backflow test, RPDA 4″", 1, 12500, True)
        invoices.add_line(session, invoice, "Trip charge", 1, 4500, False)
        invoices.send(session, invoice, today - dt.timedelta(days=100))
        invoice_tasks.print_and_mail(session, invoice, storage)
        session.commit()


def link_portal_user(db: Database, company: Company, email: str) -> None:
    """The demo portal logins (the customer's own, and its property manager's as a requester) belong to the
    customer whose devices were tested."""
    with db.service() as session:
        bind_company(session, company.id)
        profile = session.scalar(sa.select(Profile).join(User, User.id == Profile.user_id).where(User.email == email))
        customer = session.scalar(sa.select(Customer).where(Customer.name == PORTAL_CUSTOMER))
        profile.customer_id = customer.id
        audit.record(session, "user.updated", entity_type="user", entity_id=profile.user_id,
                     changes=audit.changes_between({"customer": None}, {"customer": customer.name}))
        session.commit()
