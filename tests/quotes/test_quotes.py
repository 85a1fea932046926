"""The office builds a quote for a failed assembly from the price list and the parts, and sends it; the customer
opens the emailed link on their phone, picks the optional items and approves with their typed name, and the work
order made of it carries exactly the lines they took, to the cent. Expired quotes, older versions, a second
approval and another customer's quote are refused in words."""
import datetime as dt
import io
import re
import threading

import sqlalchemy as sa
from pypdf import PdfReader

from flowtrack.core.db import bind_company
from flowtrack.core.permissions import Role
from flowtrack.invoices import services as invoices
from flowtrack.models.quotes import Quote
from flowtrack.models.scheduling import WorkOrder
from flowtrack.quotes import services
from tests.inventory.factories import Stock
from tests.notifications.outbox import last_email, link_in
from tests.quotes.factories import sent_quote


def _quote(app, quote_id) -> Quote:
    with app.extensions["flowtrack.db"].service() as session:
        quote = session.get(Quote, quote_id)
        quote.lines  # noqa: B018 (loaded before the session closes)
        return quote


def test_the_office_quotes_a_failed_assembly_and_the_customer_approves_it_from_the_link(app, office, client, acme,
                                                                                         records):
    with records.session(acme) as session:
        invoices.set_price(session, kind="repair", part="check 1", unit_price_cents=12500)
        invoices.save_settings(session, tax_rate_bp=825, payment_terms_days=30)
    part = Stock(app).part(acme, name="Watts 009 total rubber kit", sku="W-009", unit_price_cents=4200)
    harbor = records.customer(acme, name="Harbor Foods", email="ap@harborfoods.example",
                              billing_address="PO Box 12, Springfield OR")
    device = records.device(acme, records.location(acme, harbor, address_line1="12 Dock Street"), serial="RP-9")

    new_url = re.search(r'href="(/quotes/new/[^"]+)">New quote', office.get(f"/devices/{device.id}").text).group(1)
    new_url = new_url.replace("&amp;", "&")
    form = office.get(new_url).text
    key = re.search(r'name="form_key" type="hidden" value="([^"]+)"', form).group(1)
    started = office.submit(new_url, {"expires_on": "2099-01-31", "form_key": key,
                                                                 "notes": "Parts in stock."})
    assert started.status_code == 303
    again = office.submit(new_url, {"expires_on": "2099-01-31", "form_key": key})
    assert again.headers["Location"] == started.headers["Location"]  # a double click makes one quote
    page_url = started.headers["Location"]
    quote_id = page_url.rsplit("/", 1)[1]
    page = office.get(page_url).text
    price_id = re.search(r'<option value="(price:[^"]+)">Repair: check 1 · \$125.00', page).group(1)
    assert f'<option value="part:{part.id}">Part: Watts 009 total rubber kit (W-009) · $42.00' in page

    assert office.submit(f"/quotes/{quote_id}/lines", {"source": price_id, "quantity": "1"}).status_code == 303
    assert office.submit(f"/quotes/{quote_id}/lines", {"source": f"part:{part.id}", "quantity": "2",
                                                       "taxable": "y", "optional": "y"}).status_code == 303
    permit = {"description": "Permit fee", "quantity": "1", "unit_price": "19.99",
              "form_key": re.search(r'name="form_key" type="hidden" value="([^"]+)"', page).group(1)}
    assert office.submit(f"/quotes/{quote_id}/lines", permit).status_code == 303
    assert office.submit(f"/quotes/{quote_id}/lines", permit).status_code == 303  # a double click: one line
    page = office.get(page_url).text
    # 125.00 + 84.00 + 19.99; tax 8.25% on the two taxable lines 209.00 -> 17.2425 -> 17.24
    assert "$228.99" in page and "$17.24" in page and "$246.23" in page

    sent = office.submit(f"/quotes/{quote_id}/send", follow_redirects=True)
    assert "sent to ap@harborfoods.example" in sent.text
    email = last_email(app, "ap@harborfoods.example")
    assert email.subject.startswith("Quote 1 from Acme Backflow") and "$246.23" in email.body
    link = (link_in(email.body))

    phone = client.get(link)
    assert phone.status_code == 200 and "Rebuild" not in phone.text
    assert "Repair: check 1" in phone.text and "$246.23" in phone.text
    part_line = re.search(r'name="chosen" value="([^"]+)"', phone.text).group(1)
    # Unticking the optional parts: the total the server recomputes, 125.00 + 19.99 + tax 10.31
    total = client.get(f"{link}/total")
    assert "$246.23" not in total.text and "$155.30" in total.text

    refused = client.submit(f"{link}/approve", {"version": "1", "name": "  "})
    assert refused.status_code == 422 and "Type your full name to approve." in refused.text
    approved = client.submit(f"{link}/approve", {"version": "1", "name": "Pat Payables", "chosen": [part_line]},
                             follow_redirects=True, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert "the quote is approved" in approved.text and "Approved by Pat Payables" in approved.text

    quote = _quote(app, quote_id)
    assert (quote.status, quote.approved_version, quote.approved_by_name) == ("approved", 1, "Pat Payables")
    assert quote.approved_ip == "203.0.113.9" and quote.approved_at is not None
    with app.extensions["flowtrack.db"].service() as session:
        order = session.get(WorkOrder, quote.work_order_id)
        assert [(line.description, line.quantity, line.unit_price_cents, line.taxable) for line in order.lines] == [
            ("Repair: check 1", 1, 12500, True), ("Part: Watts 009 total rubber kit (W-009)", 2, 4200, True),
            ("Permit fee", 1, 1999, False)]
        bind_company(session, acme.id)
        assert invoices.totals(invoices.work_order_lines(order), 825)[2] == 24623  # the invoice asks the same
    assert "The work order made of it" in office.get(page_url).text
    actions = {e.action for e in _quote_entries(app, acme)}
    assert {"quote.created", "quote.sent", "quote.approved"} <= actions
    [approval] = [e for e in _quote_entries(app, acme) if e.action == "quote.approved"]
    assert approval.changes["total_cents"] == 24623 and approval.changes["name"] == "Pat Payables"

    # The PDF carries the company's and the customer's details, as an invoice does.
    printed = PdfReader(io.BytesIO(client.get(f"{link}/pdf").data)).pages[0].extract_text()
    assert "Acme Backflow" in printed and "Harbor Foods" in printed and "PO Box 12, Springfield OR" in printed
    assert "12 Dock Street" in printed and "$246.23" in printed and "Quote 1" in printed
    # A second approval (a double tap, another person) finds it decided.
    second = client.submit(f"{link}/approve", {"version": "1", "name": "Someone Else"}, follow_redirects=True)
    assert "Quote 1 is already approved (version 1, by Pat Payables)" in second.text


def _quote_entries(app, tenant):
    from flowtrack.models.audit import AuditEntry
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(AuditEntry).where(AuditEntry.company_id == tenant.id,
                                                                AuditEntry.entity_type == "quote")
                                    .order_by(AuditEntry.seq)))


def test_an_expired_quote_cannot_be_approved(app, client, acme):
    quote, token = sent_quote(app, acme, expires_on=dt.date.today() + dt.timedelta(days=2))
    with app.extensions["flowtrack.db"].service() as session:  # time passes
        session.execute(sa.update(Quote).where(Quote.id == quote.id)
                        .values(expires_on=dt.date.today() - dt.timedelta(days=3)))
        session.commit()
    page = client.get(f"/q/{token}")
    assert "can no longer be approved" in page.text and 'id="approve"' not in page.text
    refused = client.submit(f"/q/{token}/approve", {"version": "1", "name": "Pat Payables"}, follow_redirects=True)
    assert "expired on" in refused.text and "can no longer be approved" in refused.text
    assert _quote(app, quote.id).status == "sent"


def test_a_changed_quote_is_a_new_version_and_the_old_one_cannot_be_approved(app, office, client, acme):
    quote, old_token = sent_quote(app, acme)
    opened = client.get(f"/q/{old_token}")
    assert opened.status_code == 200
    changed = office.submit(f"/quotes/{quote.id}/lines", {"description": "Test after repair", "quantity": "1",
                                                          "unit_price": "85"})
    assert changed.status_code == 303
    after = _quote(app, quote.id)
    assert (after.version, after.status, after.sent_version) == (2, "draft", 1)
    assert len(after.lines_of(1)) == 2 and len(after.lines_of(2)) == 3  # the version sent is kept as it was
    assert client.get(f"/q/{old_token}").status_code == 404  # its link no longer opens it
    office.submit(f"/quotes/{quote.id}/send")
    new_link = (link_in(last_email(app, "ap@harborfoods.example").body))
    # The customer had version 1 open in the portal: approving it now is refused, in words.
    customer = _portal_browser(app, acme, after.customer_id)
    refused = customer.submit(f"/portal/quotes/{quote.id}/approve", {"version": "1", "name": "Pat"},
                              follow_redirects=True)
    assert "was changed after you opened it" in refused.text
    assert _quote(app, quote.id).status == "sent"
    approved = client.submit(f"{new_link}/approve", {"version": "2", "name": "Pat Payables"}, follow_redirects=True)
    assert "Approved by Pat Payables" in approved.text
    assert _quote(app, quote.id).approved_version == 2
    assert "quote.revised" in {e.action for e in _quote_entries(app, acme)}


def _portal_browser(app, tenant, customer_id):
    from tests.factories import Factory
    member = Factory(app).member(tenant.id, Role.customer.value, customer_id=customer_id)
    browser = app.test_client()
    browser.sign_in_as(member)
    return browser


def test_two_approvals_at_once_make_one_work_order(app, acme):
    quote, _ = sent_quote(app, acme)
    db = app.extensions["flowtrack.db"]
    ready = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(name: str) -> None:
        with app.app_context(), db.service() as session:  # the office is emailed a link to the quote
            bind_company(session, acme.id)
            session.get(Quote, quote.id)  # both read it as sent before either decides
            ready.wait(timeout=10)
            try:
                services.approve(session, quote.id, version=1, chosen=set(), name=name, ip=None,
                                 today=dt.date.today())
                session.commit()
                outcomes.append("approved")
            except services.QuoteRefused as refusal:
                session.rollback()
                outcomes.append(str(refusal))

    threads = [threading.Thread(target=approve, args=(name,)) for name in ("Pat Payables", "Sam Site")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2 and outcomes.count("approved") == 1
    assert any("is already approved" in outcome for outcome in outcomes)
    with db.service() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(WorkOrder)
                              .where(WorkOrder.company_id == acme.id)) == 1


def test_the_customer_declines_with_a_reason_in_the_portal(app, acme):
    quote, _ = sent_quote(app, acme)
    customer = _portal_browser(app, acme, quote.customer_id)
    assert quote.label in customer.get("/portal/").text
    page = customer.get(f"/portal/quotes/{quote.id}")
    assert page.status_code == 200 and "Replace the relief valve spring" in page.text
    empty = customer.submit(f"/portal/quotes/{quote.id}/decline", {"version": "1", "reason": ""})
    assert empty.status_code == 422 and "Tell the company why you decline" in empty.text
    declined = customer.submit(f"/portal/quotes/{quote.id}/decline",
                               {"version": "1", "reason": "We are replacing the whole assembly."},
                               follow_redirects=True)
    assert "Declined on" in declined.text and "We are replacing the whole assembly." in declined.text
    after = _quote(app, quote.id)
    assert (after.status, after.work_order_id) == ("declined", None)
    [entry] = [e for e in _quote_entries(app, acme) if e.action == "quote.declined"]
    assert entry.changes["reason"] == "We are replacing the whole assembly."


def test_another_customers_quote_is_not_found_and_vendors_see_no_quotes(app, acme, login, records):
    mine, _ = sent_quote(app, acme)
    theirs, _ = sent_quote(app, acme)
    customer = _portal_browser(app, acme, mine.customer_id)
    assert customer.get(f"/portal/quotes/{mine.id}").status_code == 200
    for url in (f"/portal/quotes/{theirs.id}", f"/portal/quotes/{theirs.id}/pdf",
                f"/portal/quotes/{theirs.id}/total"):
        assert customer.get(url).status_code == 404
    assert customer.submit(f"/portal/quotes/{theirs.id}/approve", {"version": "1", "name": "X"}).status_code == 404
    assert customer.get(f"/quotes/{mine.id}").status_code == 403
    vendor = login(acme, "vendor")
    assert vendor.get("/quotes/").status_code == 403 and vendor.get(f"/quotes/{mine.id}").status_code == 403
    assert vendor.get(f"/portal/quotes/{mine.id}").status_code == 403


def test_bad_input_in_the_office_gets_a_form_message(app, office, acme, records):
    location = records.location(acme, records.customer(acme, email="ap@harborfoods.example"))
    page = office.submit(f"/quotes/new/{location.id}", {"expires_on": "2026-13-45"})
    assert page.status_code == 422 and "Not a date" in page.text
    quote, _ = sent_quote(app, acme, location=location)
    for data, message in (({"quantity": "1"}, "Choose an item of the list, or describe the line."),
                          ({"description": "Labor", "quantity": "0", "unit_price": "10"}, "from 1 to 10000"),
                          ({"description": "Labor", "quantity": "1", "unit_price": "ten"}, "dollars and cents"),
                          ({"source": "price:nonsense", "quantity": "1"}, "Choose an item of the list.")):
        refused = office.submit(f"/quotes/{quote.id}/lines", data)
        assert refused.status_code == 422 and message in refused.text, data
    assert len(_quote(app, quote.id).lines) == 2


def test_the_demo_customer_finds_the_quote_for_their_failed_assembly_in_the_portal(app, client):
    from flowtrack.ops.seed import DEMO_PASSWORD, seed_demo
    from tests.factories import file_store

    with app.app_context():
        seed_demo(app.extensions["flowtrack.db"], production=False, storage=file_store(app))
    signed_in = client.submit("/login", {"email": "customer@acme.test", "password": DEMO_PASSWORD},
                              follow_redirects=True)
    assert signed_in.request.path == "/portal/"
    link = re.search(r'href="(/portal/quotes/[^"]+)">Quote 1</a>', signed_in.text).group(1)
    page = client.get(link).text
    assert "Repair: replaced disc" in page and "Insulated enclosure for the assembly" in page
    assert 'id="approve"' in page and "data-signature-pad" in page  # the demo companies ask for a hand signature
    assert ">Quote 2</a>" in signed_in.text  # approved earlier, for their other place

    office = app.test_client()
    office.submit("/login", {"email": "office@acme.test", "password": DEMO_PASSWORD})
    answers = office.get("/dashboard/").text
    quote_2 = re.search(r'href="(/quotes/[^"]+)">Quote 2</a>, Harbor View Apartments:', answers).group(1)
    assert "approved</strong> by Dana Whitfield" in answers
    assert office.get(quote_2).text.count(f'src="{quote_2}/signature"') == 1
    assert office.get(f"{quote_2}/signature").mimetype == "image/png"


def test_the_office_and_the_printed_quote_show_the_total_the_customer_approved(app, office, client, acme):
    quote, token = sent_quote(app, acme)  # $185.50, and an optional $39.98
    assert "$225.48" in office.get(f"/quotes/{quote.id}").text
    client.submit(f"/q/{token}/approve", {"version": "1", "name": "Pat Payables"})  # the optional item left out
    for page in (office.get(f"/quotes/{quote.id}").text, office.get("/quotes/").text):
        assert "$185.50" in page and "$225.48" not in page
    assert "Total approved" in office.get(f"/quotes/{quote.id}").text
    printed = PdfReader(io.BytesIO(office.get(f"/quotes/{quote.id}/pdf").data)).pages[0].extract_text()
    assert "not chosen" in printed and "$225.48" not in printed and "every optional item" not in printed
