"""The office hears when a customer decides: an email to the company's office address (or, without one, to the
people who make quotes) with a link to the quote, and a line on the dashboard for a week."""
import secrets

from flowtrack.companies.services import settings_of
from tests.notifications.outbox import emails_to, last_email, link_in
from tests.quotes.factories import sent_quote
from tests.quotes.test_quotes import _portal_browser


def test_the_office_is_emailed_and_sees_on_the_dashboard_when_customers_approve_or_decline(
        app, client, office, acme, records):
    office_address = f"office-{secrets.token_hex(3)}@acme.example"  # the suite's mail is all in one outbox
    with records.session(acme) as session:
        settings = settings_of(session)
        settings.email = office_address
        session.add(settings)
    taken, token = sent_quote(app, acme)
    refused, _ = sent_quote(app, acme, optional=False)
    assert "No customer approved or declined a quote in the last 7 days." in office.get("/dashboard/").text

    client.submit(f"/q/{token}/approve", {"version": "1", "name": "Pat Payables", "chosen": [
        line.id for line in taken.lines if line.optional]})
    approved = last_email(app, office_address)
    assert approved.subject == f"{taken.label} approved by {taken.customer.name}"
    assert "Pat Payables approved it: $225.48, with 1 of its 1 optional items." in approved.body
    assert taken.location.one_line in approved.body and "A work order was made" in approved.body
    assert link_in(approved.body) == f"/quotes/{taken.id}"

    portal = _portal_browser(app, acme, refused.customer_id)
    portal.submit(f"/portal/quotes/{refused.id}/decline", {"version": "1", "reason": "Too dear for now."})
    declined = last_email(app, office_address)
    assert declined.subject == f"{refused.label} declined by {refused.customer.name}"
    assert "Their reason:\nToo dear for now." in declined.body and link_in(declined.body) == f"/quotes/{refused.id}"
    assert len(emails_to(app, office_address)) == 2

    card = office.get("/dashboard/").text
    card = card[card.index('id="quote-answers"'):]
    card = card[:card.index("</section>")]
    assert f'href="/quotes/{taken.id}">{taken.label}</a>' in card and "approved</strong> by Pat Payables" in card
    assert f'href="/quotes/{refused.id}">{refused.label}</a>' in card and "declined</strong>" in card
    assert card.index(refused.label) < card.index(taken.label)  # the latest answer first


def test_without_an_office_address_the_people_who_make_quotes_are_emailed(app, client, acme):
    quote, token = sent_quote(app, acme)
    client.submit(f"/q/{token}/decline", {"version": "1", "reason": "We sold the building."})
    told = {role for role, person in acme.members.items()
            if any(email.subject.startswith(f"{quote.label} declined") for email in emails_to(app, person.email))}
    assert told == {"company_admin", "manager"}


def test_the_technician_and_the_coordinator_see_no_quote_answers(login, acme):
    for role in ("technician", "coordinator"):
        assert 'id="quote-answers"' not in login(acme, role).get("/dashboard/").text
