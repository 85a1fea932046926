"""The office keeps its customers: add, find, change, archive, and fix a phone number without leaving the list."""
import re

import sqlalchemy as sa

from flowtrack.models.audit import AuditEntry
from flowtrack.models.customers import Customer


def audit_entries(app, tenant, action):
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(AuditEntry).where(AuditEntry.company_id == tenant.id,
                                                          AuditEntry.action == action).order_by(AuditEntry.seq)))


def stored(app, customer_id) -> Customer:
    with app.extensions["flowtrack.db"].service() as s:
        return s.get(Customer, customer_id)


def names_on(page_html: str) -> list[str]:
    return re.findall(r'<a href="/customers/[0-9a-f-]{36}">([^<]+)</a>', page_html)


def test_the_office_adds_a_customer_and_sees_their_page(app, acme, office):
    response = office.submit("/customers/new", {"name": "  Harbor View Apartments ", "phone": "(541) 555-0100",
                                                "email": "Billing@HarborView.example",
                                                "billing_address": "PO Box 12\nEugene OR",
                                                "notes": "Pays by check"})
    assert response.status_code == 303
    page = office.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Harbor View Apartments" in page.text and "billing@harborview.example" in page.text
    [entry] = audit_entries(app, acme, "customer.created")
    assert entry.changes["name"] == {"before": None, "after": "Harbor View Apartments"}
    assert entry.changes["phone"]["after"] == "(541) 555-0100"


def test_a_bad_form_shows_what_is_wrong_keeps_what_was_typed_and_saves_nothing(app, acme, office):
    response = office.submit("/customers/new", {"name": "", "email": "not-an-email", "phone": "call me maybe",
                                                "notes": "gate code 4411"})
    assert response.status_code == 422
    assert "This field is required." in response.text
    assert "Enter an email address like name@example.com." in response.text
    assert "Enter a phone number" in response.text
    assert "gate code 4411" in response.text and 'value="not-an-email"' in response.text
    too_long = office.submit("/customers/new", {"name": "x" * 201})
    assert too_long.status_code == 422 and "Field cannot be longer than 200 characters." in too_long.text
    assert audit_entries(app, acme, "customer.created") == []


def test_editing_records_before_and_after(app, acme, office, records):
    customer = records.customer(acme, name="Old Name", phone="541-555-0101")
    response = office.submit(f"/customers/{customer.id}/edit", {"name": "New Name", "phone": "541-555-0101"})
    assert response.status_code == 303
    assert stored(app, customer.id).name == "New Name"
    [entry] = audit_entries(app, acme, "customer.updated")
    assert entry.changes == {"name": {"before": "Old Name", "after": "New Name"}}
    assert entry.entity_id == str(customer.id)


def test_archiving_takes_a_customer_off_the_active_list_and_restoring_brings_them_back(app, acme, office, records):
    customer = records.customer(acme, name="Zephyr Farms")
    assert office.submit(f"/customers/{customer.id}/archive").status_code == 303
    assert "Zephyr Farms" not in names_on(office.get("/customers/").text)
    assert "Zephyr Farms" in names_on(office.get("/customers/?status=archived").text)
    assert "Zephyr Farms" in names_on(office.get("/customers/?status=all").text)
    assert stored(app, customer.id).archived_at is not None
    assert office.submit(f"/customers/{customer.id}/restore").status_code == 303
    assert "Zephyr Farms" in names_on(office.get("/customers/").text)
    archived, = audit_entries(app, acme, "customer.archived")
    assert archived.changes["archived_at"]["before"] is None
    assert len(audit_entries(app, acme, "customer.restored")) == 1


def test_search_as_you_type_returns_only_the_rows(acme, office, records):
    for name in ("Maple Court HOA", "maplewood School", "Marigold Cafe", "Oak Dental"):
        records.customer(acme, name=name)
    response = office.htmx("GET", "/customers/?q=MAPLE")
    assert response.status_code == 200
    assert "<html" not in response.text
    assert names_on(response.text) == ["Maple Court HOA", "maplewood School"]
    assert "HX-Request" in response.headers["Vary"]
    assert names_on(office.htmx("GET", "/customers/?q=zzz").text) == []
    assert "No customer’s name begins with" in office.htmx("GET", "/customers/?q=zzz").text
    # Special characters are text, not patterns.
    assert names_on(office.htmx("GET", "/customers/?q=%25").text) == []


def test_the_list_page_has_active_search_wired_and_a_back_button_gets_the_whole_page(office):
    page = office.get("/customers/?q=ma")
    assert page.status_code == 200 and "<html" in page.text
    assert 'data-hx-trigger="search, keyup changed delay:250ms"' in page.text
    assert 'hx-push-url="true"' in page.text and 'value="ma"' in page.text
    restored = office.htmx("GET", "/customers/?q=ma", headers={"HX-History-Restore-Request": "true"})
    assert "<html" in restored.text


def test_sort_orders(acme, office, records):
    for name in ("Bravo", "alpha", "Charlie"):
        records.customer(acme, name=name)
    assert names_on(office.get("/customers/").text) == ["alpha", "Bravo", "Charlie"]
    assert names_on(office.get("/customers/?sort=-name").text) == ["Charlie", "Bravo", "alpha"]
    assert names_on(office.get("/customers/?sort=newest").text) == ["Charlie", "alpha", "Bravo"]


def _walk(browser, url):
    """Follow the "More customers" links to the end; every name seen, in order."""
    seen, pages = [], 0
    while url:
        response = browser.htmx("GET", url)
        seen += names_on(response.text)
        pages += 1
        more = re.search(r'hx-get="([^"]+)"\s+hx-target="#more-customers"', response.text)
        url = more.group(1).replace("&amp;", "&") if more else None
    return seen, pages


def test_keyset_pages_visit_every_customer_once_in_order(app, acme, office, records):
    with records.session(acme) as s:
        s.add_all(Customer(name=f"Customer {n:03d}") for n in range(120))
    for sort, expected in (("name", sorted), ("-name", lambda names: sorted(names, reverse=True))):
        seen, pages = _walk(office, f"/customers/?sort={sort}")
        assert pages == 3
        assert seen == expected(f"Customer {n:03d}" for n in range(120))
    seen, _ = _walk(office, "/customers/?sort=newest")
    assert sorted(seen) == [f"Customer {n:03d}" for n in range(120)] and len(set(seen)) == 120


def test_bad_filters_answer_422_and_a_foreign_cursor_starts_at_the_top(acme, office, records):
    records.customer(acme, name="Only One")
    response = office.get("/customers/?status=everything&sort=random")
    assert response.status_code == 422 and "Not a valid choice" in response.text
    assert names_on(office.get("/customers/?after=bm90LWEtY3Vyc29y").text) == ["Only One"]
    assert office.get("/customers/?q=" + "x" * 101).status_code == 422


def test_phone_and_email_are_edited_in_place(app, acme, office, records):
    customer = records.customer(acme, name="Inline Ltd", phone="541-555-0000")
    editing = office.htmx("GET", f"/customers/{customer.id}/contact")
    assert editing.status_code == 200 and 'class="editing"' in editing.text
    assert 'value="541-555-0000"' in editing.text and 'hx-include="closest tr"' in editing.text

    saved = office.htmx("POST", f"/customers/{customer.id}/contact", {"phone": "541-555-0199", "email": "a@b.example"})
    assert saved.status_code == 200
    assert "editing" not in saved.text and "541-555-0199" in saved.text and saved.text.lstrip().startswith("<tr")
    assert (stored(app, customer.id).phone, stored(app, customer.id).email) == ("541-555-0199", "a@b.example")
    [entry] = audit_entries(app, acme, "customer.updated")
    assert entry.changes["phone"] == {"before": "541-555-0000", "after": "541-555-0199"}

    refused = office.htmx("POST", f"/customers/{customer.id}/contact", {"phone": "541-555-0199", "email": "nope"})
    assert refused.status_code == 422 and 'value="nope"' in refused.text
    assert "Enter an email address like name@example.com." in refused.text
    assert stored(app, customer.id).email == "a@b.example"

    cancel = office.htmx("GET", f"/customers/{customer.id}/row")
    assert "editing" not in cancel.text
    # Without HTMX the same link opens the full edit page.
    assert office.get(f"/customers/{customer.id}/contact").headers["Location"].endswith(
        f"/customers/{customer.id}/edit")
